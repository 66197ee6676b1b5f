import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { ManualClock } from '@parley/voice';
import { startTwilioCaller } from './twilio-caller.js';
import type { TwilioCaller } from './twilio-caller.js';

// A bare WebSocket endpoint: these tests look at the caller's own wire behaviour.
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await once(wss, 'listening');
const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media`;
const connections: { socket: WebSocket; headers: IncomingHttpHeaders; messages: any[] }[] = [];
const arrivals = new Set<() => void>();
wss.on('connection', (socket, request) => {
  const connection = { socket, headers: request.headers, messages: [] as any[] };
  connections.push(connection);
  socket.on('message', (data) => {
    connection.messages.push(JSON.parse(data.toString()));
    for (const check of [...arrivals]) check();
  });
});

function serverReceived(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!condition()) return;
      arrivals.delete(check);
      resolve();
    };
    arrivals.add(check);
    check();
  });
}

const callers: TwilioCaller[] = [];
async function call(options: Partial<Parameters<typeof startTwilioCaller>[0]> = {}) {
  const caller = await startTwilioCaller({ url, ...options });
  callers.push(caller);
  const mine = () => connections.find((c) => c.messages[1]?.streamSid === caller.streamSid);
  await serverReceived(() => mine() !== undefined);
  return { caller, connection: mine()! };
}

afterEach(async () => {
  await Promise.all(callers.splice(0).map((caller) => caller.hangUp()));
  connections.length = 0;
});
afterAll(() => new Promise<void>((resolve) => wss.close(() => resolve())));

describe('startTwilioCaller', () => {
  it('opens the stream as Twilio does, with the given headers and custom parameters', async () => {
    const { caller, connection } = await call({
      headers: { 'X-Twilio-Signature': 'sig' },
      customParameters: { callId: 'c_1' },
      clock: new ManualClock(),
    });
    expect(connection.headers['x-twilio-signature']).toBe('sig');
    expect(connection.messages[0]).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(connection.messages[1]).toEqual({
      event: 'start',
      sequenceNumber: '1',
      streamSid: caller.streamSid,
      start: {
        streamSid: caller.streamSid,
        accountSid: caller.accountSid,
        callSid: caller.callSid,
        tracks: ['inbound'],
        customParameters: { callId: 'c_1' },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
  });

  it('numbers every message after connected and ends with stop', async () => {
    const clock = new ManualClock();
    const { caller, connection } = await call({ clock });
    await clock.advance(40);
    caller.sendDtmf('7');
    const sent = () => connection.messages.length;
    await serverReceived(() => sent() === 6);
    await caller.hangUp();
    await serverReceived(() => connection.messages.at(-1)?.event === 'stop');
    const events = connection.messages.map((message) => [message.event, message.sequenceNumber]);
    expect(events).toEqual([
      ['connected', undefined],
      ['start', '1'],
      ['media', '2'],
      ['media', '3'],
      ['media', '4'],
      ['dtmf', '5'],
      ['stop', '6'],
    ]);
    expect(connection.messages[2].media).toMatchObject({ track: 'inbound', chunk: '1', timestamp: '0' });
    expect(Buffer.from(connection.messages[2].media.payload, 'base64')).toEqual(Buffer.alloc(160, 0xff));
    expect(connection.messages.at(-1).stop).toEqual({
      accountSid: caller.accountSid,
      callSid: caller.callSid,
    });
  });

  it('stamps each media message with its send time only when asked (load runs)', async () => {
    const clock = new ManualClock();
    const { connection } = await call({ clock, stampSendTimes: true });
    const before = performance.timeOrigin + performance.now();
    await clock.advance(20);
    await serverReceived(() => connection.messages.length === 4);
    const sentAt = Number(connection.messages[2].sentAt);
    expect(sentAt).toBeGreaterThanOrEqual(before);
    expect(sentAt).toBeLessThanOrEqual(performance.timeOrigin + performance.now());
    const plain = await call({ clock });
    await clock.advance(20);
    await serverReceived(() => plain.connection.messages.length >= 3);
    expect(plain.connection.messages[2]).not.toHaveProperty('sentAt');
  });

  it('records what Twilio would reject instead of acting on it', async () => {
    const { caller, connection } = await call({ clock: new ManualClock() });
    connection.socket.send(JSON.stringify({ event: 'mark', streamSid: caller.streamSid, mark: {} }));
    connection.socket.send(JSON.stringify({ event: 'clear', streamSid: 'MZother' }));
    connection.socket.send('nope');
    connection.socket.send(Buffer.from([0xff]), { binary: true });
    const invalid = await caller.waitFor(() => {
      const found = caller.received.filter((message) => message.kind === 'invalid');
      return found.length === 4 && found;
    });
    expect(invalid.map((message) => message.reason)).toEqual([
      'mark without mark.name',
      'missing or wrong streamSid',
      'not a JSON object',
      'binary frame (Twilio accepts JSON text only)',
    ]);
    expect(caller.clears).toEqual([]);
  });

  it('drives many callers from one timer', async () => {
    const clock = new ManualClock();
    for (let i = 0; i < 20; i++) await call({ clock });
    expect(clock.pendingTimerCount).toBe(1);
    await clock.advance(100);
    expect(callers.map((caller) => caller.framesSent)).toEqual(Array(20).fill(6));
  });

  it('notices the server closing the call', async () => {
    const { caller, connection } = await call({ clock: new ManualClock() });
    connection.socket.close(1000);
    await caller.waitFor(() => caller.closedAtMs !== null);
    expect(caller.closedBy).toBe('server');
    await expect(caller.waitFor(() => caller.marks.length > 0)).rejects.toThrow(/closed/);
  });

  it('fails clearly when nothing listens', async () => {
    await expect(startTwilioCaller({ url: 'ws://127.0.0.1:1/media' })).rejects.toThrow(/could not connect/);
  });
});
