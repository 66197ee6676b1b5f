// Call control on the bus and in the runtime: what a control command looks like on arrival, that the
// dispatcher hands it to the runtime carrying the call, and what each one asks of the call's session
// (and records on its timeline) — the effect on a real call is in test/call-control.e2e.test.ts.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { CallSession, ControlEventBody } from '@parley/voice';
import type { CallActionTools } from '../telephony/call-actions.js';
import { parseCallCommand } from './call-commands.js';
import { controlLiveCall, SUPERVISOR_HANGUP } from './control-live-call.js';
import { dispatchCallCommand, type CallCommandTarget } from './runtime-commands.js';

const logger = pino({ level: 'silent' });
const callId = randomUUID();

describe('a control command on the bus', () => {
  it('arrives whole, and a malformed one is dropped', () => {
    const say = { type: 'say', callId, text: 'Hello', interrupt: true, hangUpAfter: false };
    expect(parseCallCommand(JSON.parse(JSON.stringify(say)))).toEqual(say);
    expect(parseCallCommand({ type: 'mute', callId })).toEqual({ type: 'mute', callId });
    for (const bad of [
      { type: 'say', callId, text: '', interrupt: true, hangUpAfter: false },
      { type: 'say', callId, text: 'Hello' },
      { type: 'inject', callId, role: 'assistant', content: 'x', respond: false },
      { type: 'transfer', callId, to: '12345', message: '', handOff: false },
      { type: 'hang_up', callId: 'not-a-uuid' },
      { type: 'shout', callId },
    ]) {
      expect(parseCallCommand(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('is handed to the runtime’s controlCall', () => {
    const target: CallCommandTarget = {
      carrierEnded: vi.fn(),
      answeredByMachine: vi.fn(() => true),
      listenToCall: vi.fn(),
      stopListeningToCall: vi.fn(),
      controlCall: vi.fn(() => true),
    };
    const commands = [
      { type: 'hang_up', callId },
      { type: 'say', callId, text: 'Hi', interrupt: false, hangUpAfter: true },
      { type: 'inject', callId, role: 'user', content: 'Hi', respond: true },
      { type: 'transfer', callId, to: '+14155550100', message: '', handOff: true },
      { type: 'mute', callId },
      { type: 'unmute', callId },
    ] as const;
    for (const command of commands) dispatchCallCommand(target, command, logger);
    expect(vi.mocked(target.controlCall).mock.calls.map(([c]) => c)).toEqual(commands);
    expect(target.carrierEnded).not.toHaveBeenCalled();
  });
});

/** A session and call actions that record what they were asked. */
function liveCall(options: { canTransfer?: boolean } = {}) {
  const timeline: ControlEventBody[] = [];
  const session = {
    recordControl: vi.fn((event: ControlEventBody) => timeline.push(event)),
    hangUp: vi.fn(async () => ({ reason: '', durationMs: 0 })),
    say: vi.fn(),
    appendContext: vi.fn(),
    respond: vi.fn(),
    mute: vi.fn(),
    unmute: vi.fn(),
  };
  const actions = { canTransfer: options.canTransfer ?? true, handOff: vi.fn() };
  return {
    timeline,
    session,
    actions,
    call: {
      session: session as unknown as CallSession,
      actions: actions as unknown as CallActionTools,
    },
  };
}

describe('a control command on the call', () => {
  it('hang_up ends the call as the supervisor’s hang-up', () => {
    const { call, session, timeline } = liveCall();
    controlLiveCall(call, { type: 'hang_up', callId });
    expect(session.hangUp).toHaveBeenCalledWith(SUPERVISOR_HANGUP);
    expect(timeline).toEqual([{ type: 'control.hang_up' }]);
  });

  it('say speaks the text, and records only its length', () => {
    const { call, session, timeline } = liveCall();
    controlLiveCall(call, { type: 'say', callId, text: 'Bye now.', interrupt: false, hangUpAfter: true });
    expect(session.say).toHaveBeenCalledWith('Bye now.', {
      interrupt: false,
      hangUpAfter: true,
      endReason: SUPERVISOR_HANGUP,
    });
    expect(timeline).toEqual([{ type: 'control.say', chars: 8, interrupt: false, hangUpAfter: true }]);
  });

  it('inject adds to the context, and has the agent answer only when asked', () => {
    const quiet = liveCall();
    controlLiveCall(quiet.call, {
      type: 'inject',
      callId,
      role: 'system',
      content: 'Be brief.',
      respond: false,
    });
    expect(quiet.session.appendContext).toHaveBeenCalledWith('system', 'Be brief.');
    expect(quiet.session.respond).not.toHaveBeenCalled();
    const answering = liveCall();
    controlLiveCall(answering.call, { type: 'inject', callId, role: 'user', content: 'Hi', respond: true });
    expect(answering.session.respond).toHaveBeenCalledOnce();
    expect(answering.timeline).toEqual([{ type: 'control.inject', role: 'user', chars: 2, respond: true }]);
  });

  it('transfer announces, then hands the caller over; without a message, at once', () => {
    const announced = liveCall();
    controlLiveCall(announced.call, {
      type: 'transfer',
      callId,
      to: '+14155550100',
      message: 'Connecting you.',
      handOff: false,
    });
    expect(announced.actions.handOff).toHaveBeenCalledWith(
      expect.objectContaining({ number: '+14155550100', message: 'Connecting you.' }),
    );
    expect(announced.session.say).toHaveBeenCalledWith('Connecting you.', {
      interrupt: true,
      hangUpAfter: true,
      endReason: 'agent_hangup',
    });
    expect(announced.timeline).toEqual([{ type: 'control.transfer', handOff: false, status: 'announcing' }]);

    const direct = liveCall();
    controlLiveCall(direct.call, {
      type: 'transfer',
      callId,
      to: '+14155550100',
      message: '',
      handOff: true,
    });
    expect(direct.session.say).not.toHaveBeenCalled();
    expect(direct.session.hangUp).toHaveBeenCalledWith('agent_hangup');
    expect(direct.timeline).toEqual([{ type: 'control.transfer', handOff: true, status: 'transferring' }]);
  });

  it('transfer on a call whose carrier control cannot transfer changes nothing, and says so', () => {
    const { call, session, actions, timeline } = liveCall({ canTransfer: false });
    controlLiveCall(call, { type: 'transfer', callId, to: '+14155550100', message: 'Hi', handOff: false });
    expect(actions.handOff).not.toHaveBeenCalled();
    expect(session.say).not.toHaveBeenCalled();
    expect(session.hangUp).not.toHaveBeenCalled();
    expect(timeline).toEqual([{ type: 'control.transfer', handOff: false, status: 'unavailable' }]);
  });

  it('mute and unmute switch the agent', () => {
    const { call, session, timeline } = liveCall();
    controlLiveCall(call, { type: 'mute', callId });
    controlLiveCall(call, { type: 'unmute', callId });
    expect(session.mute).toHaveBeenCalledOnce();
    expect(session.unmute).toHaveBeenCalledOnce();
    expect(timeline).toEqual([{ type: 'control.mute' }, { type: 'control.unmute' }]);
  });
});
