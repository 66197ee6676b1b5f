import { once } from 'node:events';
import { createPublicKey, verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { ManualClock } from '@parley/voice';
import { startTelnyxCaller, startTelnyxRestSimulator } from './telnyx.js';
import type { TelnyxCaller } from './telnyx.js';

// A bare WebSocket endpoint: these tests check the simulator against Telnyx's documented frames.
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

const callers: TelnyxCaller[] = [];
afterEach(async () => {
  await Promise.all(callers.splice(0).map((caller) => caller.hangUp()));
  connections.length = 0;
});
afterAll(() => new Promise<void>((resolve) => wss.close(() => resolve())));

describe('startTelnyxCaller', () => {
  it('opens the stream as Telnyx does: auth token header and field, connected, start, 20 ms media', async () => {
    const clock = new ManualClock();
    const caller = await startTelnyxCaller({ url, clock, authToken: 'tok', clientState: 'c3RhdGU=' });
    callers.push(caller);
    await clock.advance(20);
    await serverReceived(() => connections[0]?.messages.length === 4);
    const { headers, messages } = connections[0]!;
    expect(headers['x-telnyx-streaming-auth-token']).toBe('tok');
    expect(messages[0]).toEqual({
      event: 'connected',
      version: '1.0.0',
      'x-telnyx-streaming-auth-token': 'tok',
    });
    expect(messages[1]).toMatchObject({
      event: 'start',
      sequence_number: '1',
      stream_id: caller.streamId,
      start: {
        call_control_id: caller.callControlId,
        client_state: 'c3RhdGU=',
        media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
      },
    });
    expect(messages[2].media).toMatchObject({ track: 'inbound', chunk: '1', timestamp: '0' });
    expect(Buffer.from(messages[2].media.payload, 'base64').byteLength).toBe(160);
  });

  it('echoes pending marks at once on clear, as Telnyx documents', async () => {
    const clock = new ManualClock();
    const caller = await startTelnyxCaller({ url, clock });
    callers.push(caller);
    await serverReceived(() => connections[0]?.messages.length === 2);
    const { socket } = connections[0]!;
    socket.send(
      JSON.stringify({ event: 'media', media: { payload: Buffer.alloc(1600, 0x10).toString('base64') } }),
    );
    socket.send(JSON.stringify({ event: 'mark', mark: { name: 'm' } }));
    socket.send(JSON.stringify({ event: 'media', media: { payload: Buffer.alloc(40).toString('base64') } }));
    await caller.waitFor(() => caller.received.length === 3);
    expect(caller.received[2]).toMatchObject({ kind: 'invalid', reason: 'media shorter than 20 ms' });
    socket.send(JSON.stringify({ event: 'clear' }));
    await serverReceived(() => connections[0]!.messages.some((message) => message.event === 'mark'));
    expect(caller.marksEchoed).toEqual([{ name: 'm', atMs: 0 }]);
  });
});

describe('TelnyxRestSimulator', () => {
  it('signs webhooks with the key pair whose public half it exposes', async () => {
    const telnyx = await startTelnyxRestSimulator();
    try {
      const body = '{"data":{}}';
      const signature = telnyx.sign(body, 1700000000);
      const key = createPublicKey({
        key: {
          kty: 'OKP',
          crv: 'Ed25519',
          x: Buffer.from(telnyx.publicKeyBase64, 'base64').toString('base64url'),
        },
        format: 'jwk',
      });
      expect(verify(null, Buffer.from(`1700000000|${body}`), key, Buffer.from(signature, 'base64'))).toBe(
        true,
      );
      expect(verify(null, Buffer.from(`1700000001|${body}`), key, Buffer.from(signature, 'base64'))).toBe(
        false,
      );
    } finally {
      await telnyx.close();
    }
  });

  it('answers Telnyx-shaped errors for a missing key and an unknown call', async () => {
    const telnyx = await startTelnyxRestSimulator();
    try {
      const unauthorized = await fetch(`${telnyx.baseUrl}/v2/calls`, { method: 'POST', body: '{}' });
      expect(unauthorized.status).toBe(401);
      expect(await unauthorized.json()).toMatchObject({ errors: [{ code: '10009' }] });
      const unknown = await fetch(`${telnyx.baseUrl}/v2/calls/v3%3Anone/actions/hangup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${telnyx.apiKey}` },
        body: '{}',
      });
      expect(unknown.status).toBe(404);
      expect(telnyx.requests.map((request) => request.action)).toEqual([null, 'hangup']);
    } finally {
      await telnyx.close();
    }
  });
});
