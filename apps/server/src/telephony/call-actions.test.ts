import { describe, expect, it } from 'vitest';
import { InMemoryCall, systemClock, type ToolCall } from '@parley/voice';
import {
  CallActionsLeg,
  CallActionTools,
  type CallActionsSetup,
  type LiveCallControl,
} from './call-actions.js';

const SALES = { name: 'sales', number: '+15550009999', description: 'Orders.', message: '' };
const SUPPORT = { name: 'support', number: '+15550008888', description: '', message: 'One moment.' };

function control(can: { transfer?: boolean; dtmf?: boolean; failWith?: Error } = {}) {
  const done: string[] = [];
  const live: LiveCallControl = {
    canTransfer: can.transfer ?? true,
    canSendDtmf: can.dtmf ?? true,
    transfer: async (to) => {
      if (can.failWith) throw can.failWith;
      done.push(`transfer ${to}`);
    },
    sendDtmf: async (digits) => {
      if (can.failWith) throw can.failWith;
      done.push(`dtmf ${digits}`);
    },
  };
  return { live, done };
}

const setup = (overrides: Partial<CallActionsSetup> = {}): CallActionsSetup => ({
  endCall: true,
  transferDestinations: [SALES, SUPPORT],
  sendDtmf: true,
  ...overrides,
});

let nextId = 0;
const invoke = (tools: CallActionTools, name: string, args: unknown) => {
  const call: ToolCall = { id: `call_${nextId++}`, name, arguments: JSON.stringify(args) };
  return tools.execute({ call, callId: 'c1', signal: new AbortController().signal });
};

describe('CallActionTools', () => {
  it('offers only what the agent enabled and the carrier can do', () => {
    const names = (tools: CallActionTools) => tools.definitions().map((tool) => tool.name);
    expect(names(new CallActionTools(setup(), control().live))).toEqual([
      'end_call',
      'transfer_call',
      'send_dtmf',
    ]);
    expect(names(new CallActionTools(setup(), control({ transfer: false, dtmf: false }).live))).toEqual([
      'end_call',
    ]);
    expect(names(new CallActionTools(setup({ endCall: false, transferDestinations: [] }), null))).toEqual([]);
    expect(names(new CallActionTools(setup({ sendDtmf: false }), control().live))).toEqual([
      'end_call',
      'transfer_call',
    ]);
  });

  it('refuses an action it did not offer', async () => {
    const tools = new CallActionTools(setup({ sendDtmf: false }), control().live);
    expect(await invoke(tools, 'send_dtmf', { digits: '1' })).toMatchObject({
      status: 'error',
      code: 'unknown_tool',
    });
  });

  it('arranges a transfer to a named destination, with its announcement said as written', async () => {
    const tools = new CallActionTools(setup(), control().live);
    expect(await invoke(tools, 'transfer_call', { destination: 'support' })).toMatchObject({
      status: 'ok',
      say: 'One moment.',
      endCall: true,
    });
    expect(tools.takePendingTransfer()).toEqual(SUPPORT);
    expect(tools.takePendingTransfer()).toBeNull();
    const own = await invoke(tools, 'transfer_call', { destination: 'sales' });
    expect(own).toMatchObject({ status: 'ok', endCall: true });
    expect(own).not.toHaveProperty('say');
  });

  it('answers an unknown destination or malformed arguments with an error the model can act on', async () => {
    const tools = new CallActionTools(setup(), control().live);
    expect(await invoke(tools, 'transfer_call', { destination: 'billing' })).toEqual({
      status: 'error',
      code: 'invalid_arguments',
      content: 'destination must be one of: sales, support.',
    });
    const malformed = await tools.execute({
      call: { id: 'x', name: 'transfer_call', arguments: '{"destination":' },
      callId: 'c1',
      signal: new AbortController().signal,
    });
    expect(malformed).toMatchObject({ status: 'error', code: 'invalid_arguments' });
    expect(tools.takePendingTransfer()).toBeNull();
  });

  it('presses keys on the carrier, and reports bad digits or a carrier failure', async () => {
    const ok = control();
    const tools = new CallActionTools(setup(), ok.live);
    expect(await invoke(tools, 'send_dtmf', { digits: '12w#' })).toEqual({
      status: 'ok',
      content: 'Pressed 12w#.',
    });
    expect(ok.done).toEqual(['dtmf 12w#']);
    expect(await invoke(tools, 'send_dtmf', { digits: '12; DROP' })).toMatchObject({
      status: 'error',
      code: 'invalid_arguments',
    });
    const failing = new CallActionTools(setup(), control({ failWith: new Error('carrier said no') }).live);
    expect(await invoke(failing, 'send_dtmf', { digits: '1' })).toEqual({
      status: 'error',
      code: 'failed',
      content: 'The keys could not be pressed.',
    });
  });

  it('arranges a hand-off to its number, with the reason and summary in the result', () => {
    const tools = new CallActionTools(setup({ transferDestinations: [] }), control().live);
    const handOff = { number: '+15550007777', reason: 'refund', summary: 'Wants a refund for A-17' };
    const announced = tools.handOff({ ...handOff, message: 'Putting you through to a colleague.' });
    expect(announced).toMatchObject({
      status: 'ok',
      endCall: true,
      say: 'Putting you through to a colleague.',
    });
    expect(JSON.parse(announced.content)).toMatchObject({
      handoff: { reason: 'refund', summary: 'Wants a refund for A-17' },
    });
    expect(tools.takePendingTransfer()).toMatchObject({ name: 'hand_off', number: '+15550007777' });
    const own = tools.handOff({ ...handOff, message: '' });
    expect(own).toMatchObject({ status: 'ok', endCall: true });
    expect(own).not.toHaveProperty('say');
  });

  it('refuses a hand-off when the carrier cannot transfer the call', () => {
    const tools = new CallActionTools(setup(), control({ transfer: false }).live);
    expect(tools.canTransfer).toBe(false);
    const outcome = tools.handOff({ number: '+15550007777', reason: 'r', summary: 's', message: '' });
    expect(outcome).toMatchObject({ status: 'error', code: 'failed' });
    expect(tools.takePendingTransfer()).toBeNull();
  });

  it('lets ending the call supersede an announced transfer', async () => {
    const tools = new CallActionTools(setup(), control().live);
    await invoke(tools, 'transfer_call', { destination: 'sales' });
    expect(await invoke(tools, 'end_call', {})).toMatchObject({ status: 'ok', endCall: true });
    expect(tools.takePendingTransfer()).toBeNull();
  });
});

describe('CallActionsLeg', () => {
  const format = { encoding: 'mulaw', sampleRateHz: 8000, channels: 1 } as const;

  it('carries out the announced transfer when the agent hangs up, then leaves the call', async () => {
    const { live, done } = control();
    const tools = new CallActionTools(setup(), live);
    const inner = new InMemoryCall({ clock: systemClock, inputFormat: format, outputFormat: format });
    const leg = new CallActionsLeg(inner.transport, tools, live, () => {});
    await invoke(tools, 'transfer_call', { destination: 'sales' });
    await leg.hangUp('agent_hangup');
    expect(done).toEqual(['transfer +15550009999']);
    expect(inner.hangUpReason).toBe('transferred');
    expect(leg.ending).toEqual({ kind: 'transferred', destination: 'sales' });
  });

  it('carries out a hand-off like a transfer when the agent hangs up', async () => {
    const { live, done } = control();
    const tools = new CallActionTools(setup(), live);
    const inner = new InMemoryCall({ clock: systemClock, inputFormat: format, outputFormat: format });
    const leg = new CallActionsLeg(inner.transport, tools, live, () => {});
    tools.handOff({ number: '+15550007777', reason: 'r', summary: 's', message: '' });
    await leg.hangUp('agent_hangup');
    expect(done).toEqual(['transfer +15550007777']);
    expect(leg.ending).toEqual({ kind: 'transferred', destination: 'hand_off' });
  });

  it('does not transfer when the call ends for another reason (a time limit)', async () => {
    const { live, done } = control();
    const tools = new CallActionTools(setup(), live);
    const inner = new InMemoryCall({ clock: systemClock, inputFormat: format, outputFormat: format });
    const leg = new CallActionsLeg(inner.transport, tools, live, () => {});
    await invoke(tools, 'transfer_call', { destination: 'sales' });
    await leg.hangUp('max_duration');
    expect(done).toEqual([]);
    expect(inner.hangUpReason).toBe('max_duration');
    expect(leg.ending).toEqual({ kind: 'hung_up' });
  });

  it('hangs up when the transfer fails, and says so', async () => {
    const failure = new Error('carrier unavailable');
    const { live } = control({ failWith: failure });
    const tools = new CallActionTools(setup(), live);
    const inner = new InMemoryCall({ clock: systemClock, inputFormat: format, outputFormat: format });
    const reported: unknown[] = [];
    const leg = new CallActionsLeg(inner.transport, tools, live, (error) => reported.push(error));
    await invoke(tools, 'transfer_call', { destination: 'sales' });
    await leg.hangUp('agent_hangup');
    expect(reported).toEqual([failure]);
    expect(inner.hangUpReason).toBe('agent_hangup');
    expect(leg.ending).toEqual({ kind: 'transfer_failed' });
  });
});
