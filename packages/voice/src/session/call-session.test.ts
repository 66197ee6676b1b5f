// Whole calls on a manual clock: what the caller hears, when the agent yields, and what the model
// is told. Providers are the in-process fakes of @parley/testkit; the wire adapters have their own
// conformance suites against the simulators.
import { createTestCall, FakeTts, ScriptedLlm, type TestCall } from '@parley/testkit';
import { ManualClock } from '../clock.js';
import { describe, expect, it } from 'vitest';
import { parseWav, WavWriter, memoryWavSink } from '../audio/wav-writer.js';
import { ProviderError } from '../providers/errors.js';
import type { ToolExecutor, ToolInvocation } from '../tools/executor.js';

const LONG_REPLY =
  'We open at nine in the morning on Saturdays, and we close at five in the afternoon, so there is plenty of time to visit us.';

function assistantText(call: TestCall): string {
  return call.session.messages
    .filter((message) => message.role === 'assistant')
    .map((message) => message.content)
    .join(' | ');
}

/** Lets the greeting play out and returns when the agent is quiet. */
async function afterGreeting(call: TestCall): Promise<void> {
  call.session.start();
  await call.until((event) => event.type === 'agent.speech.ended');
}

describe('greeting modes', () => {
  it('agent-speaks: the caller hears the first message before saying anything', async () => {
    const call = createTestCall();
    await afterGreeting(call);
    expect(call.heardMs()).toBeGreaterThan(500);
    expect(call.eventsOf('agent.speech.started')[0]).toMatchObject({ source: 'greeting' });
    expect(call.eventsOf('agent.speech.ended')[0]).toMatchObject({ text: 'Hello! How can I help?' });
    expect(call.llm.requests).toHaveLength(0);
    expect(assistantText(call)).toBe('Hello! How can I help?');
  });

  it('user-speaks: silence until the caller talks, then the model answers', async () => {
    const call = createTestCall({ agent: { firstMessageMode: 'user-speaks' } });
    call.llm.reply({ text: 'Hi there.' });
    call.session.start();
    await call.run(2000);
    expect(call.heardMs()).toBe(0);
    await call.speak(600, 'hello');
    await call.until((event) => event.type === 'agent.speech.ended');
    expect(call.llm.requests[0]!.messages.at(-1)).toEqual({ role: 'user', content: 'hello' });
  });

  it('agent-generates: the model writes the greeting', async () => {
    const call = createTestCall({ agent: { firstMessageMode: 'agent-generates' } });
    call.llm.reply({ text: 'Good morning, this is the clinic.' });
    call.session.start();
    await call.until((event) => event.type === 'agent.speech.ended');
    expect(call.llm.requests).toHaveLength(1);
    expect(call.llm.requests[0]!.messages.map((m) => m.role)).toEqual(['system']);
    expect(call.eventsOf('agent.speech.ended')[0]).toMatchObject({
      text: 'Good morning, this is the clinic.',
    });
  });
});

describe('a turn', () => {
  it('ends on the configured silence, sends the words to the model and plays the reply', async () => {
    const call = createTestCall();
    call.llm.reply({ text: 'We open at nine.', firstTokenMs: 200 });
    await afterGreeting(call);
    await call.speak(800, 'what time do you open');
    const turn = await call.until((event) => event.type === 'user.turn');
    expect(turn).toMatchObject({ text: 'what time do you open' });
    const committed = call.decisions('turn.committed')[0]!;
    expect(committed.data?.['silenceMs']).toBeGreaterThanOrEqual(500);
    expect(committed.data?.['silenceMs']).toBeLessThan(560);
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'We open at nine.');
    const latency = call.eventsOf('turn.latency').at(-1)!.latency;
    expect(latency.llmFirstTokenMs).toBe(200);
    expect(latency.endpointingMs).toBeGreaterThanOrEqual(500);
    expect(latency.orchestratorMs).toBeLessThan(25);
  });

  it('sends the recogniser 200 ms batches of silence and 40 ms batches of speech', async () => {
    const call = createTestCall({ agent: { firstMessageMode: 'user-speaks' } });
    call.session.start();
    await call.run(1000);
    const stream = call.stt.current;
    // μ-law at 8 kHz: 200 ms is 1600 bytes, 40 ms is 320.
    expect(stream.audioMessages).toEqual([1600, 1600, 1600, 1600, 1600]);
    stream.audioMessages.length = 0;
    await call.speak(400, 'hello there');
    const speech = stream.audioMessages;
    // Speech onset sends what silence had gathered at once; from then on, 40 ms at a time.
    expect(speech[0]).toBeLessThan(1600);
    expect(speech.slice(1, -1).every((bytes) => bytes === 320)).toBe(true);
    expect(speech.slice(1).length).toBeGreaterThanOrEqual(8);
  });

  it('does not end the turn during a pause shorter than the silence', async () => {
    const call = createTestCall();
    await afterGreeting(call);
    await call.speak(500, 'I would like');
    await call.run(300);
    await call.speak(500, 'to book a table');
    await call.until((event) => event.type === 'user.turn');
    expect(call.eventsOf('user.turn')).toHaveLength(1);
    expect(call.eventsOf('user.turn')[0]!.text).toBe('I would like to book a table');
  });
});

describe('speculative replies', () => {
  it('start the model before the silence is over and speak as soon as the turn ends', async () => {
    const call = createTestCall({ turnTaking: { speculativeReplies: true } });
    call.llm.reply({ text: 'Hi! What can I do for you?', firstTokenMs: 400 });
    await afterGreeting(call);
    await call.speak(600, 'hello there', { finalDelayMs: 100 });
    const speechEnd = call.clock.now();
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    expect(call.decisions('speculative.started')).toHaveLength(1);
    expect(call.decisions('speculative.confirmed')).toHaveLength(1);
    // Without the draft this would be silence (500 ms) + first token (400 ms) after the speech.
    expect(call.clock.now() - speechEnd).toBeLessThan(700);
    expect(call.llm.requests).toHaveLength(1);
  });

  it('throw the draft away (and cancel it) when the caller keeps talking', async () => {
    const call = createTestCall({ turnTaking: { speculativeReplies: true } });
    call.llm.reply({ text: 'Draft answer.', firstTokenMs: 600 }, { text: 'Real answer.' });
    await afterGreeting(call);
    await call.speak(500, 'I need', { finalDelayMs: 50 });
    await call.run(250);
    await call.speak(600, 'a taxi please');
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'Real answer.');
    expect(call.decisions('speculative.discarded')).toHaveLength(1);
    expect(call.llm.requests[0]!.aborted).toBe(true);
    expect(call.llm.requests[1]!.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'I need a taxi please',
    ]);
    expect(call.eventsOf('agent.speech.ended').some((event) => event.text === 'Draft answer.')).toBe(false);
  });
});

describe('barge-in', () => {
  it('yields at once to an interrupt phrase, even a short one', async () => {
    const call = createTestCall({ turnTaking: { minInterruptionSpeechMs: 800 } });
    call.llm.reply({ text: LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    await call.run(500);
    await call.speak(300, 'stop');
    await call.until((event) => event.type === 'agent.speech.interrupted');
    expect(call.decisions('barge_in')[0]!.reason).toContain('stop');
  });

  it('does not yield to speech shorter than the minimum', async () => {
    const call = createTestCall({ turnTaking: { minInterruptionSpeechMs: 600, minInterruptionWords: 0 } });
    call.llm.reply({ text: LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    const clears = call.line.clears.length;
    await call.speak(400, null);
    await call.run(300);
    expect(call.line.clears.length).toBe(clears);
    expect(call.decisions('barge_in.ignored')[0]!.reason).toContain('shorter');
  });

  it('during playback: clears the line, cancels synthesis and keeps only what was heard', async () => {
    const call = createTestCall();
    call.llm.reply({ text: LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    await call.run(1500);
    const clearsBefore = call.line.clears.length;
    const speechStart = call.clock.now();
    await call.speak(700, 'wait I have a question');
    const interrupted = await call.until((event) => event.type === 'agent.speech.interrupted');
    expect(call.line.clears.length).toBe(clearsBefore + 1);
    // Yielded once the caller had spoken the minimum and said a word, not at the end of their sentence.
    expect(call.line.clears.at(-1)! - speechStart).toBeLessThan(450);
    const { heardText, fullText } = interrupted as Extract<
      typeof interrupted,
      { type: 'agent.speech.interrupted' }
    >;
    expect(heardText.length).toBeGreaterThan(0);
    expect(heardText.length).toBeLessThan(fullText.length);
    expect(LONG_REPLY.startsWith(heardText)).toBe(true);
    // The model's memory holds what the caller heard, not what it wrote.
    expect(assistantText(call)).toContain(heardText.trim());
    expect(assistantText(call)).not.toContain('plenty of time');
    // Nothing of the interrupted answer reaches the caller after the clear.
    const clearAt = call.line.clears.at(-1)!;
    const turnAudioAfter = call.line.received.filter((frame) => frame.atMs > clearAt);
    await call.run(300);
    expect(call.line.received.filter((frame) => frame.atMs > clearAt).length).toBe(turnAudioAfter.length);
  });

  it('before the first audio: the pending model request is cancelled', async () => {
    const call = createTestCall();
    call.llm.reply({ text: 'Too late.', firstTokenMs: 3000 }, { text: 'Sure, go ahead.' });
    await afterGreeting(call);
    await call.speak(600, 'I want to ask');
    await call.until((event) => event.type === 'user.turn');
    await call.run(200);
    await call.speak(700, 'actually wait one more thing');
    await call.until((event) => event.type === 'decision' && event.decision === 'barge_in');
    expect(call.llm.requests[0]!.aborted).toBe(true);
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'Sure, go ahead.');
    expect(call.eventsOf('agent.speech.ended').some((event) => event.text === 'Too late.')).toBe(false);
  });

  it('during a tool call: the tool is aborted and the context stays valid', async () => {
    let toolSignal: AbortSignal | null = null;
    const tools: ToolExecutor = {
      definitions: () => [
        { name: 'lookup_order', description: 'Finds an order', parameters: { type: 'object' } },
      ],
      execute: ({ signal }: ToolInvocation) =>
        new Promise((_, reject) => {
          toolSignal = signal;
          signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        }),
    };
    const call = createTestCall({ tools });
    call.llm.reply({ toolCalls: [{ name: 'lookup_order', arguments: { id: '42' } }] }, { text: 'Yes?' });
    await afterGreeting(call);
    await call.speak(600, 'where is my order');
    await call.until((event) => event.type === 'tool.called');
    await call.run(500);
    await call.speak(700, 'hold on never mind');
    await call.until((event) => event.type === 'decision' && event.decision === 'barge_in');
    expect(toolSignal!.aborted).toBe(true);
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'Yes?');
    const messages = call.llm.requests[1]!.messages;
    const toolResult = messages.find((message) => message.role === 'tool');
    expect(toolResult).toBeDefined();
    expect(messages.at(-1)).toMatchObject({ role: 'user', content: 'hold on never mind' });
  });

  it('ignores backchannels and noise while the agent speaks', async () => {
    const call = createTestCall();
    call.llm.reply({ text: LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    const clears = call.line.clears.length;
    await call.speak(450, 'yeah');
    await call.run(700);
    await call.speak(400, 'mm-hm');
    await call.run(700);
    await call.speak(200, null); // a cough: sound, no words
    await call.until((event) => event.type === 'agent.speech.ended' && event.turnId > 1);
    expect(call.line.clears.length).toBe(clears);
    expect(call.decisions('barge_in')).toHaveLength(0);
    expect(call.decisions('barge_in.ignored').length).toBeGreaterThan(0);
    expect(call.eventsOf('user.turn')).toHaveLength(1);
  });

  it('resumes the unheard rest after a false interruption', async () => {
    const call = createTestCall({ turnTaking: { minInterruptionWords: 0, minInterruptionSpeechMs: 100 } });
    call.llm.reply({ text: LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    await call.run(1000);
    await call.speak(250, null);
    const interrupted = await call.until((event) => event.type === 'agent.speech.interrupted');
    await call.until((event) => event.type === 'decision' && event.decision === 'false_interruption.resume');
    const resumed = await call.until(
      (event) => event.type === 'agent.speech.ended' && event.seq > interrupted.seq && event.text.length > 0,
    );
    const heard = (interrupted as Extract<typeof interrupted, { type: 'agent.speech.interrupted' }>)
      .heardText;
    expect((heard + (resumed as { text: string }).text).replace(/\s+/g, ' ').trim()).toBe(LONG_REPLY);
  });
});

describe('barge-in on speech duration alone', () => {
  it('a backchannel that stopped the agent is not a turn: the agent resumes its answer', async () => {
    const call = createTestCall({ turnTaking: { minInterruptionWords: 0, minInterruptionSpeechMs: 100 } });
    call.llm.reply({ text: LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    await call.run(800);
    await call.speak(400, 'yeah');
    await call.until((event) => event.type === 'agent.speech.interrupted');
    await call.until((event) => event.type === 'decision' && event.decision === 'false_interruption.resume');
    await call.until((event) => event.type === 'agent.speech.ended' && event.turnId > 2);
    expect(call.eventsOf('user.turn').map((event) => event.text)).toEqual(['when do you open']);
    expect(call.llm.requests).toHaveLength(1);
  });
});

describe('the keypad', () => {
  it('digits become the caller’s turn at #, and a key stops the agent at once', async () => {
    const call = createTestCall();
    call.llm.reply({ text: LONG_REPLY, firstTokenMs: 100 });
    call.llm.reply({ text: 'Thanks, your account is found.', firstTokenMs: 100 });
    await afterGreeting(call);
    await call.speak(600, 'I need my balance');
    const asked = await call.until((event) => event.type === 'user.turn');
    const turnId = asked.type === 'user.turn' ? asked.turnId : -1;
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId === turnId);
    await call.run(500);
    call.line.pressDigit('4');
    await call.run(20);
    expect(call.decisions('barge_in').at(-1)).toMatchObject({ reason: 'keypad' });
    for (const digit of ['2', '#']) {
      call.line.pressDigit(digit);
      await call.run(20);
    }
    const turn = await call.until((event) => event.type === 'user.turn' && event.text.includes('keypad'));
    expect(turn).toMatchObject({ text: '[The caller pressed on the keypad: 42#]' });
    await call.until(
      (event) => event.type === 'agent.speech.ended' && event.text === 'Thanks, your account is found.',
    );
    expect(call.session.messages.at(-2)).toMatchObject({
      role: 'user',
      content: '[The caller pressed on the keypad: 42#]',
    });
  });

  it('digits without # end as a turn after a pause', async () => {
    const call = createTestCall();
    call.llm.reply({ text: 'Got it.', firstTokenMs: 100 });
    await afterGreeting(call);
    call.line.pressDigit('7');
    await call.run(1500);
    expect(call.eventsOf('user.turn')).toHaveLength(0);
    await call.run(600);
    expect(call.eventsOf('user.turn').map((e) => e.text)).toEqual(['[The caller pressed on the keypad: 7]']);
  });
});

describe('timers', () => {
  it('reminds an idle caller, then says goodbye and hangs up', async () => {
    const call = createTestCall({
      agent: {
        idle: {
          reminderAfterMs: 4000,
          maxReminders: 2,
          reminderMessages: ['Are you still there?'],
          hangupMessage: 'Goodbye!',
        },
      },
    });
    await afterGreeting(call);
    const ended = await call.until((event) => event.type === 'call.ended', 40_000);
    expect(call.decisions('idle.reminder')).toHaveLength(2);
    expect(call.decisions('idle.hangup')).toHaveLength(1);
    expect(call.eventsOf('agent.speech.ended').map((event) => event.text)).toEqual([
      'Hello! How can I help?',
      'Are you still there?',
      'Are you still there?',
      'Goodbye!',
    ]);
    expect(ended).toMatchObject({ reason: 'idle_timeout' });
    expect(call.line.hangUpReason).toBe('idle_timeout');
  });

  it('ends the call at the maximum duration with the closing line', async () => {
    const call = createTestCall({ agent: { maxDurationSeconds: 10 } });
    call.llm.reply({ text: LONG_REPLY + ' ' + LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'tell me everything');
    const ended = await call.until((event) => event.type === 'call.ended', 30_000);
    expect(call.decisions('max_duration')).toHaveLength(1);
    expect(call.eventsOf('agent.speech.ended').at(-1)!.text).toBe(
      'We have reached the time limit for this call. Goodbye!',
    );
    expect(ended).toMatchObject({ reason: 'max_duration' });
  });
});

describe('dead air', () => {
  it('says a filler when a slow tool keeps the line silent', async () => {
    const tools: ToolExecutor = {
      definitions: () => [{ name: 'slow', description: 'slow', parameters: { type: 'object' } }],
      execute: async () => {
        await new Promise<void>((resolve) => call.clock.setTimer(6000, resolve));
        return { status: 'ok', content: '{"done":true}' };
      },
    };
    const call = createTestCall({ tools, turnTaking: { deadAirMs: 2000 } });
    call.llm.reply({ toolCalls: [{ name: 'slow', arguments: {} }] }, { text: 'All done.' });
    await afterGreeting(call);
    await call.speak(600, 'please check');
    const turn = await call.until((event) => event.type === 'user.turn');
    const deadAir = await call.until((event) => event.type === 'decision' && event.decision === 'dead_air');
    expect(deadAir.atMs - turn.atMs).toBeGreaterThanOrEqual(2000);
    expect(deadAir.atMs - turn.atMs).toBeLessThan(2100);
    await call.until((event) => event.type === 'agent.speech.ended' && event.text.includes('All done.'));
    expect(call.eventsOf('agent.speech.ended').at(-1)!.text).toContain('One moment');
  });

  it("says a slow tool's own waiting line instead of the default one", async () => {
    const tools: ToolExecutor = {
      definitions: () => [{ name: 'crm', description: 'crm', parameters: { type: 'object' } }],
      policy: (name) => (name === 'crm' ? { waitingMessage: 'Let me pull up your account.' } : undefined),
      execute: async () => {
        await new Promise<void>((resolve) => call.clock.setTimer(2500, resolve));
        return { status: 'ok', content: '{"plan":"gold"}' };
      },
    };
    const call = createTestCall({ tools, agent: { slowToolAfterMs: 1500 } });
    call.llm.reply({ toolCalls: [{ name: 'crm', arguments: {} }] }, { text: 'You are on gold.' });
    await afterGreeting(call);
    await call.speak(600, 'what plan am I on');
    await call.until((event) => event.type === 'agent.speech.ended' && event.text.includes('gold'));
    const said = call.eventsOf('agent.speech.ended').map((event) => event.text);
    expect(said.join(' ')).toContain('Let me pull up your account.');
    expect(said.join(' ')).not.toContain('One moment');
  });

  it('asks the model again after an empty reply', async () => {
    const call = createTestCall({ turnTaking: { deadAirMs: 1500 } });
    call.llm.reply({ text: '' }, { text: 'Sorry, how can I help?' });
    await afterGreeting(call);
    await call.speak(600, 'hello?');
    await call.until((event) => event.type === 'decision' && event.decision === 'dead_air');
    await call.until(
      (event) => event.type === 'agent.speech.ended' && event.text === 'Sorry, how can I help?',
    );
    expect(call.llm.requests).toHaveLength(2);
  });
});

describe('tools', () => {
  it('runs parallel calls and feeds timeouts and errors back to the model as results', async () => {
    const tools: ToolExecutor = {
      definitions: () => [
        { name: 'never_answers', description: '', parameters: { type: 'object' } },
        { name: 'broken', description: '', parameters: { type: 'object' } },
        { name: 'weather', description: '', parameters: { type: 'object' } },
      ],
      execute: async ({ call: toolCall, signal }) => {
        if (toolCall.name === 'broken') throw new Error('upstream exploded');
        if (toolCall.name === 'weather') return { status: 'ok', content: '{"sky":"clear"}' };
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        return { status: 'ok', content: 'late' };
      },
    };
    const call = createTestCall({ tools, agent: { toolTimeoutMs: 2000 } });
    call.llm.reply(
      {
        toolCalls: [
          { name: 'never_answers', arguments: {} },
          { name: 'broken', arguments: {} },
          { name: 'weather', arguments: {} },
        ],
      },
      { text: 'The sky is clear.' },
    );
    await afterGreeting(call);
    await call.speak(600, 'check everything');
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'The sky is clear.');
    const results = call.eventsOf('tool.result');
    expect(results.map((result) => [result.name, result.status, result.code])).toEqual([
      ['never_answers', 'error', 'timeout'],
      ['broken', 'error', 'failed'],
      ['weather', 'ok', undefined],
    ]);
    const toolMessages = call.llm.requests[1]!.messages.filter((message) => message.role === 'tool');
    expect(toolMessages).toHaveLength(3);
    expect(toolMessages[2]).toMatchObject({ content: '{"sky":"clear"}' });
  });

  it('an end-call tool hangs up only once the goodbye that follows it has been heard', async () => {
    const tools: ToolExecutor = {
      definitions: () => [{ name: 'end_call', description: '', parameters: { type: 'object' } }],
      execute: async () => ({ status: 'ok', content: 'Say goodbye.', endCall: true }),
    };
    const call = createTestCall({ tools });
    call.llm.reply(
      { toolCalls: [{ name: 'end_call', arguments: {} }] },
      { text: 'Thanks for calling, goodbye!' },
    );
    await afterGreeting(call);
    await call.speak(600, 'that is all, bye');
    const goodbye = await call.until(
      (event) => event.type === 'agent.speech.ended' && event.text === 'Thanks for calling, goodbye!',
    );
    const ended = await call.until((event) => event.type === 'call.ended');
    expect(goodbye.seq).toBeLessThan(ended.seq);
    expect(ended).toMatchObject({ reason: 'agent_hangup' });
    expect(call.line.hangUpReason).toBe('agent_hangup');
    // Nothing was cut: the whole goodbye went out before the line closed.
    expect(call.heardMs()).toBeGreaterThan(1500);
  });

  it('says a tool’s fixed reply as written, without asking the model again', async () => {
    const tools: ToolExecutor = {
      definitions: () => [{ name: 'transfer_call', description: '', parameters: { type: 'object' } }],
      execute: async () => ({
        status: 'ok',
        content: 'transferring',
        say: 'Connecting you to sales now.',
        endCall: true,
      }),
    };
    const call = createTestCall({ tools });
    call.llm.reply({ text: 'Sure.', toolCalls: [{ name: 'transfer_call', arguments: {} }] });
    await afterGreeting(call);
    await call.speak(600, 'sales please');
    await call.until((event) => event.type === 'call.ended');
    expect(call.llm.requests).toHaveLength(1);
    expect(call.eventsOf('agent.speech.ended').at(-1)).toMatchObject({
      text: 'Sure. Connecting you to sales now.',
    });
    expect(assistantText(call)).toContain('Connecting you to sales now.');
  });

  it('swaps the system prompt and tools mid-call', async () => {
    const tools: ToolExecutor = {
      definitions: () => [
        { name: 'a', description: '', parameters: { type: 'object' } },
        { name: 'b', description: '', parameters: { type: 'object' } },
      ],
      execute: async () => ({ status: 'ok', content: '{}' }),
    };
    const call = createTestCall({ tools });
    await afterGreeting(call);
    call.session.updateContext({ systemPrompt: 'You now take payments.', toolNames: ['b'] });
    await call.speak(600, 'I want to pay');
    await call.until((event) => event.type === 'agent.speech.ended' && event.turnId > 1);
    const request = call.llm.requests[0]!;
    expect(request.messages[0]).toEqual({ role: 'system', content: 'You now take payments.' });
    expect(request.toolNames).toEqual(['b']);
  });
});

describe('provider failures', () => {
  it('falls back to the next model when the first fails', async () => {
    const clock = new ManualClock();
    const primary = new ScriptedLlm(clock, 'primary').reply({
      error: new ProviderError('boom', { category: 'server', retryable: true, provider: 'primary' }),
    });
    const secondary = new ScriptedLlm(clock, 'secondary').reply({ text: 'Backup here.' });
    const call = createTestCall({ clock, llm: [primary, secondary] });
    await afterGreeting(call);
    await call.speak(600, 'hello');
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'Backup here.');
    expect(call.decisions('llm.fallback')).toHaveLength(1);
    expect(primary.requests).toHaveLength(1);
  });

  it('apologises when every model fails, and the call goes on', async () => {
    const call = createTestCall();
    call.llm.reply(
      { error: new ProviderError('down', { category: 'server', retryable: true, provider: 'scripted-llm' }) },
      { text: 'I am back.' },
    );
    await afterGreeting(call);
    await call.speak(600, 'hello');
    await call.until((event) => event.type === 'decision' && event.decision === 'apology');
    await call.until((event) => event.type === 'agent.speech.ended' && event.turnId > 1);
    expect(call.eventsOf('agent.speech.ended').at(-1)!.text).toMatch(/sorry/i);
    await call.speak(600, 'are you there');
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'I am back.');
  });

  it('falls back to the next voice when synthesis fails', async () => {
    const clock = new ManualClock();
    const broken = new FakeTts(clock, {
      id: 'broken-tts',
      failWith: new ProviderError('voice gone', {
        category: 'bad_request',
        retryable: false,
        provider: 'broken-tts',
      }),
    });
    const backup = new FakeTts(clock, { id: 'backup-tts' });
    const call = createTestCall({ clock, tts: [broken, backup] });
    await afterGreeting(call);
    expect(call.decisions('tts.fallback')).toHaveLength(1);
    expect(backup.texts.join('')).toBe('Hello! How can I help?');
    expect(call.heardMs()).toBeGreaterThan(500);
  });
});

describe('recording', () => {
  it('is a stereo WAV as long as the call, caller left and agent right', async () => {
    const sink = memoryWavSink();
    const writer = new WavWriter(sink, { sampleRateHz: 8000, channels: 2 });
    const call = createTestCall({ recording: writer });
    call.llm.reply({ text: 'We open at nine.' });
    await afterGreeting(call);
    await call.speak(800, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.ended' && event.turnId > 1);
    await call.run(500);
    call.line.hangUp();
    const ended = await call.until((event) => event.type === 'call.ended');
    const wav = parseWav(sink.bytes());
    expect(wav.channels).toBe(2);
    expect(wav.sampleRateHz).toBe(8000);
    const recordedMs = (wav.samples.length / 2 / 8000) * 1000;
    expect(Math.abs(recordedMs - (ended as { durationMs: number }).durationMs)).toBeLessThan(100);
  });
});
