// A supervisor's `say` that hangs up once heard (manual clock, in-memory line): the end reason belongs
// to that turn, so a caller who barges into it keeps the call, and the agent's own later goodbye ends
// it with the agent's reason.
import { createTestCall, type TestCall } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import type { ToolExecutor } from '../tools/executor.js';

const CLOSING =
  'A colleague will call you back later today about your order, and we will send you the details by email before then.';

const endCallTool: ToolExecutor = {
  definitions: () => [{ name: 'end_call', description: '', parameters: { type: 'object' } }],
  execute: async () => ({ status: 'ok', content: 'Say goodbye.', endCall: true }),
};

async function afterGreeting(call: TestCall): Promise<void> {
  call.session.start();
  await call.until((event) => event.type === 'agent.speech.ended');
}

describe('a supervisor say with hangUpAfter', () => {
  it('ends the call with its reason once heard', async () => {
    const call = createTestCall();
    await afterGreeting(call);
    call.session.say(CLOSING, { hangUpAfter: true, endReason: 'supervisor_hangup' });
    const ended = await call.until((event) => event.type === 'call.ended', 30_000);
    expect(ended).toMatchObject({ reason: 'supervisor_hangup' });
    expect(call.line.hangUpReason).toBe('supervisor_hangup');
  });

  it('barged into, does not hang up, and the agent’s own goodbye later ends the call as agent_hangup', async () => {
    const call = createTestCall({ tools: endCallTool });
    call.llm.reply(
      { toolCalls: [{ name: 'end_call', arguments: {} }] },
      { text: 'Thanks for calling, goodbye!' },
    );
    await afterGreeting(call);
    call.session.say(CLOSING, { hangUpAfter: true, endReason: 'supervisor_hangup' });
    await call.until((event) => event.type === 'agent.speech.started' && event.turnId > 1);
    await call.run(1000);
    await call.speak(700, 'wait I have a question');
    await call.until((event) => event.type === 'agent.speech.interrupted');
    expect(call.eventsOf('call.ended')).toHaveLength(0);
    await call.until(
      (event) => event.type === 'agent.speech.ended' && event.text === 'Thanks for calling, goodbye!',
      30_000,
    );
    const ended = await call.until((event) => event.type === 'call.ended');
    expect(ended).toMatchObject({ reason: 'agent_hangup' });
    expect(call.line.hangUpReason).toBe('agent_hangup');
  });
});
