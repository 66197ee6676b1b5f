// A supervisor muting the agent on a live call (manual clock, in-memory line): the agent stops at
// once and says nothing of its own while muted, keeps listening, and answers again once unmuted.
import { createTestCall, type TestCall } from '@parley/testkit';
import { describe, expect, it } from 'vitest';

const LONG_REPLY =
  'We open at nine in the morning on Saturdays, and we close at five in the afternoon, so there is plenty of time to visit us.';

async function afterGreeting(call: TestCall): Promise<void> {
  call.session.start();
  await call.until((event) => event.type === 'agent.speech.ended');
}

/** Agent audio the caller received after call time `atMs`. */
const audioAfter = (call: TestCall, atMs: number) => call.line.received.filter((frame) => frame.atMs > atMs);

const userMessages = (call: TestCall) =>
  call.session.messages.filter((m) => m.role === 'user').map((m) => m.content);

describe('a muted agent', () => {
  it('stops what it is saying at once', async () => {
    const call = createTestCall();
    call.llm.reply({ text: LONG_REPLY });
    await afterGreeting(call);
    await call.speak(600, 'when do you open');
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    await call.run(1000);
    const clearsBefore = call.line.clears.length;
    call.session.mute();
    const mutedAt = call.clock.now();
    await call.run(50);
    expect(call.line.clears.length).toBe(clearsBefore + 1);
    await call.run(3000);
    // Nothing of the reply reaches the caller after the line was cleared.
    expect(audioAfter(call, mutedAt + 20)).toHaveLength(0);
    expect(call.eventsOf('agent.speech.ended').map((e) => e.text)).toEqual(['Hello! How can I help?']);
  });

  it('keeps listening but does not answer; unmuted, it answers the next turn knowing what was said', async () => {
    const call = createTestCall();
    call.llm.reply({ text: 'Of course, a table for two at eight.' });
    await afterGreeting(call);
    call.session.mute();
    await call.speak(800, 'I would like to book a table');
    await call.until((event) => event.type === 'user.turn');
    const turnAt = call.clock.now();
    // Longer than the dead-air limit (3 s): no reply, no filler, no retry.
    await call.run(5000);
    expect(audioAfter(call, turnAt)).toHaveLength(0);
    expect(call.llm.requests).toHaveLength(0);
    expect(call.decisions('dead_air')).toHaveLength(0);
    expect(call.decisions('muted').length).toBeGreaterThan(0);
    expect(userMessages(call)).toEqual(['I would like to book a table']);

    call.session.unmute();
    await call.speak(600, 'for two at eight');
    await call.until((event) => event.type === 'agent.speech.ended' && event.text.includes('table for two'));
    // The model saw both turns, the one heard while muted first.
    expect(call.llm.requests).toHaveLength(1);
    expect(call.llm.requests[0]!.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'I would like to book a table',
      'for two at eight',
    ]);
  });

  it('does not remind an idle caller while muted, and does again once unmuted', async () => {
    const call = createTestCall({
      agent: {
        idle: {
          reminderAfterMs: 2000,
          maxReminders: 1,
          reminderMessages: ['Are you still there?'],
          hangupMessage: 'Goodbye!',
        },
      },
    });
    await afterGreeting(call);
    call.session.mute();
    await call.run(10_000);
    expect(call.decisions('idle.reminder')).toHaveLength(0);
    expect(call.eventsOf('call.ended')).toHaveLength(0);
    call.session.unmute();
    await call.until((event) => event.type === 'agent.speech.ended' && event.text === 'Are you still there?');
  });

  it('does not speak the greeting when muted before the call starts', async () => {
    const call = createTestCall();
    call.session.mute();
    call.session.start();
    await call.run(3000);
    expect(call.heardMs()).toBe(0);
  });

  it('does not count muted time as dead air after unmuting', async () => {
    const call = createTestCall({ turnTaking: { deadAirMs: 2000 } });
    call.llm.reply({ text: 'Let me see.', firstTokenMs: 5000 });
    await afterGreeting(call);
    await call.speak(600, 'can you check my order');
    await call.until((event) => event.type === 'user.turn');
    // The watchdog is armed for the reply; muting disarms it, and a long muted spell is not dead air.
    call.session.mute();
    await call.run(1500);
    call.session.unmute();
    await call.run(4000);
    expect(call.decisions('dead_air')).toHaveLength(0);
    expect(call.heardMs()).toBeGreaterThan(0);
    expect(call.line.received.every((frame) => frame.atMs < 2000)).toBe(true);
  });

  it('still says a supervisor’s words while muted, and stays muted afterwards', async () => {
    const call = createTestCall();
    call.llm.reply({ text: 'Should not be said.' });
    await afterGreeting(call);
    call.session.mute();
    call.session.say('A colleague will call you back today.');
    await call.until(
      (event) =>
        event.type === 'agent.speech.ended' && event.text === 'A colleague will call you back today.',
    );
    await call.speak(600, 'thank you');
    await call.until((event) => event.type === 'user.turn');
    await call.run(4000);
    expect(call.llm.requests).toHaveLength(0);
    expect(call.eventsOf('agent.speech.ended').map((e) => e.text)).toEqual([
      'Hello! How can I help?',
      'A colleague will call you back today.',
    ]);
  });

  it('ends the call at the maximum duration without the closing line', async () => {
    const call = createTestCall({ agent: { maxDurationSeconds: 8 } });
    await afterGreeting(call);
    call.session.mute();
    const ended = await call.until((event) => event.type === 'call.ended', 20_000);
    expect(ended).toMatchObject({ reason: 'max_duration' });
    expect(call.eventsOf('agent.speech.ended').map((e) => e.text)).toEqual(['Hello! How can I help?']);
  });
});
