// Live operations at scale: two real `parley serve` processes share PostgreSQL and Redis — A serves the
// API only, B carries calls. Twilio calls land on B while everything a supervisor does goes to A: live
// events followed (and resumed) on A, a control command sent to A that the caller on B hears, and a
// listen socket on A that hears the call on B. One world for the three, started once.
import WebSocket from 'ws';
import { describe, expect, it, vi } from 'vitest';
import { agentDone, GREETING, useProcessWorld } from './process-world.js';
import { openSse, statusIs } from './sse-client.js';

const world = useProcessWorld({ processes: [{ role: 'api' }, { role: 'runtime' }] });
const apiProcess = () => world.processes[0]!;
const runtimeProcess = () => world.processes[1]!;
const auth = () => ({ authorization: `Bearer ${world.apiKey}` });

// First, while no other call is under way: its watcher sees every event of the organization, which
// must all be its own call's.
describe('live events of a call carried by another process', () => {
  it('reach an SSE client of the API process in order, and resume there after a disconnect without gaps', async () => {
    const url = `${apiProcess().baseUrl}/api/v1/events`;
    const watcher = openSse(url, auth());
    const dropping = openSse(url, auth());
    await watcher.opened();
    await dropping.opened();

    const { caller, callId } = await world.answeredCall(runtimeProcess(), '+15557650001');
    await agentDone(caller, 0);
    await dropping.waitFor((m) => m.event === 'agent.speech.ended');
    dropping.close();
    const lastSeen = dropping.state.lastId!;
    // The API process carries no call: what the clients get came over Redis from B.
    expect(apiProcess().output()).not.toContain(callId);

    // While the client is away the call goes on: the caller hangs up.
    await caller.hangUp();
    await watcher.waitFor(statusIs('completed'));
    const resumed = openSse(url, { ...auth(), 'last-event-id': lastSeen });
    await resumed.waitFor(statusIs('completed'));

    const all = watcher.messages;
    expect(all.every((m) => m.data['callId'] === callId)).toBe(true);
    expect(all.filter((m) => m.event === 'call.status').map((m) => m.data['data']['status'])).toEqual([
      'ringing',
      'in_progress',
      'completed',
    ]);
    expect(all.filter((m) => m.event === 'agent.speech.ended').map((m) => m.data['data']['text'])).toEqual([
      GREETING,
    ]);
    const ids = (messages: typeof all) => messages.map((m) => m.id);
    expect([...ids(dropping.messages), ...ids(resumed.messages)]).toEqual(ids(all));
    expect(resumed.messages.length).toBeGreaterThan(0);
    watcher.close();
    resumed.close();
  });
});

describe('a control command sent to another process', () => {
  it('reaches the call on the runtime process carrying it, and the caller hears the text', async () => {
    const { caller, callId } = await world.answeredCall(runtimeProcess(), '+15557650002');
    await agentDone(caller, 0);

    // The API process has no runtime of its own: the call is on B, the request goes to A.
    expect(apiProcess().output()).not.toContain(callId);
    const words = 'A colleague will call you back within the hour.';
    const sentAt = performance.now();
    const response = await fetch(`${apiProcess().baseUrl}/api/v1/calls/${callId}/control`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'say', text: words }),
    });
    expect(response.status).toBe(202);
    await agentDone(caller, sentAt);

    await vi.waitFor(
      async () =>
        expect(await world.transcript(callId)).toEqual([
          ['agent', GREETING],
          ['agent', words],
        ]),
      { timeout: 10_000, interval: 100 },
    );
    expect(await world.eventTypes(callId)).toContain('control.say');
    await caller.hangUp();
  });
});

const level = (chunk: Int16Array, channel: 0 | 1) => {
  let sum = 0;
  for (let i = channel; i < chunk.length; i += 2) sum += Math.abs(chunk[i]!);
  return sum / (chunk.length / 2);
};

describe('listening on one process to a call carried by another', () => {
  it('streams the call from runtime B to the supervisor’s socket on api A, then its end', async () => {
    const { caller, callId } = await world.answeredCall(runtimeProcess(), '+15557650003');
    await vi.waitFor(
      async () => {
        const response = await fetch(`${apiProcess().baseUrl}/api/v1/calls/${callId}`, { headers: auth() });
        expect(((await response.json()) as { status: string }).status).toBe('in_progress');
      },
      { timeout: 10_000, interval: 50 },
    );

    const texts: Record<string, unknown>[] = [];
    const chunks: Int16Array[] = [];
    let closed: number | null = null;
    const socket = new WebSocket(
      `${apiProcess().baseUrl.replace(/^http/, 'ws')}/api/v1/calls/${callId}/listen`,
      { headers: auth() },
    );
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) texts.push(JSON.parse(data.toString()) as Record<string, unknown>);
      else {
        const copy = Buffer.from(data);
        chunks.push(new Int16Array(copy.buffer, copy.byteOffset, copy.byteLength / 2));
      }
    });
    socket.on('close', (code) => (closed = code));
    await vi.waitFor(() => expect(texts[0]).toMatchObject({ type: 'start', callId, channels: 2 }), {
      timeout: 15_000,
      interval: 20,
    });
    // The greeting, heard on the agent's channel while the caller's is silent.
    await vi.waitFor(() => expect(chunks.filter((c) => level(c, 1) > 300).length).toBeGreaterThanOrEqual(3), {
      timeout: 15_000,
      interval: 20,
    });
    // The caller speaks: heard on the caller's channel.
    await caller.play('opening-hours');
    await vi.waitFor(() => expect(chunks.filter((c) => level(c, 0) > 300).length).toBeGreaterThanOrEqual(5), {
      timeout: 10_000,
      interval: 20,
    });
    await caller.hangUp();
    await vi.waitFor(() => expect(closed).toBe(1000), { timeout: 15_000, interval: 20 });
    expect(texts.at(-1)).toEqual({ type: 'end', reason: 'caller_hangup' });
    // The api process holds no call: the audio came from B.
    expect(apiProcess().output()).not.toContain('call tapped for listening');
    expect(runtimeProcess().output()).toContain('call tapped for listening');
  });
});
