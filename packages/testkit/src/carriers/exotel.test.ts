import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { ManualClock } from '@parley/voice';
import { startExotelCaller, startExotelRestSimulator } from './exotel.js';
import type { ExotelCaller } from './exotel.js';

// A bare WebSocket endpoint: these tests check the simulator against Exotel's documented messages.
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

const callers: ExotelCaller[] = [];
afterEach(async () => {
  await Promise.all(callers.splice(0).map((caller) => caller.hangUp()));
  connections.length = 0;
});
afterAll(() => new Promise<void>((resolve) => wss.close(() => resolve())));

describe('startExotelCaller', () => {
  it('opens the stream as the Voicebot applet does: Basic auth, connected, start, then media', async () => {
    const clock = new ManualClock();
    const caller = await startExotelCaller({
      url,
      clock,
      frameMs: 100,
      basicAuth: { username: 'key', password: 'token' },
      customParameters: { callId: 'c_1' },
    });
    callers.push(caller);
    await clock.advance(100);
    await serverReceived(() => connections[0]?.messages.length === 4);
    const { headers, messages } = connections[0]!;
    expect(headers.authorization).toBe(`Basic ${Buffer.from('key:token').toString('base64')}`);
    expect(messages[0]).toEqual({ event: 'connected' });
    expect(messages[1]).toEqual({
      event: 'start',
      sequence_number: '1',
      stream_sid: caller.streamSid,
      start: {
        stream_sid: caller.streamSid,
        call_sid: caller.callSid,
        account_sid: caller.accountSid,
        from: '+919800000001',
        to: '+918000000002',
        custom_parameters: { callId: 'c_1' },
        media_format: { encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' },
      },
    });
    // 100 ms of 8 kHz PCM16 per message, numbered as Exotel numbers them.
    expect(messages.slice(2).map((message) => [message.media.chunk, message.media.timestamp])).toEqual([
      ['1', '0'],
      ['2', '100'],
    ]);
    expect(Buffer.from(messages[2].media.payload, 'base64').byteLength).toBe(1600);
  });

  it('sends dtmf and stop with Exotel’s fields', async () => {
    const caller = await startExotelCaller({ url, clock: new ManualClock() });
    callers.push(caller);
    caller.sendDtmf('9');
    await caller.hangUp();
    await serverReceived(() => connections[0]?.messages.length === 4);
    const [, , dtmf, stop] = connections[0]!.messages;
    expect(dtmf).toEqual({
      event: 'dtmf',
      sequence_number: '2',
      stream_sid: caller.streamSid,
      dtmf: { digit: '9', duration: '100' },
    });
    expect(stop).toMatchObject({ event: 'stop', stop: { call_sid: caller.callSid, reason: 'callended' } });
  });

  it('flags agent chunks that break Exotel’s size rule and messages for another stream', async () => {
    const caller = await startExotelCaller({ url, clock: new ManualClock() });
    callers.push(caller);
    await serverReceived(() => connections[0]?.messages.length === 2);
    const { socket } = connections[0]!;
    const media = (bytes: number) =>
      JSON.stringify({
        event: 'media',
        stream_sid: caller.streamSid,
        media: { payload: Buffer.alloc(bytes).toString('base64') },
      });
    socket.send(media(1600));
    socket.send(media(640));
    socket.send(media(1700));
    socket.send(JSON.stringify({ event: 'clear', stream_sid: 'MZother' }));
    await caller.waitFor(() => caller.received.length === 4);
    expect(caller.media.map((chunk) => chunk.compliant)).toEqual([true, false, false]);
    expect(caller.nonCompliantChunks).toBe(2);
    expect(caller.received[3]).toMatchObject({ kind: 'invalid', reason: 'missing or wrong stream_sid' });
  });
});

describe('ExotelRestSimulator', () => {
  it('refuses requests without the account’s Basic credentials, as Exotel does', async () => {
    const exotel = await startExotelRestSimulator();
    try {
      const response = await fetch(`${exotel.baseUrl}/v1/Accounts/${exotel.accountSid}/Calls/connect`, {
        method: 'POST',
        body: 'From=1',
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ RestException: { Status: 401 } });
      expect(exotel.requests[0]).toMatchObject({ authorized: false, form: { From: ['1'] } });
    } finally {
      await exotel.close();
    }
  });
});
