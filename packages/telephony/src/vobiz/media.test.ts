import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { ManualClock, MULAW_8K, pcm16SamplesToBytes } from '@parley/voice';
import type { TransportEvent } from '@parley/voice';
import { loadFixture, placeVobizInboundCall, startVobizCaller } from '@parley/testkit';
import type { PlivoCallerContentType } from '@parley/testkit';
import { VobizMediaTransport } from './media.js';
import { buildVobizStreamDocument, verifyVobizSignature } from './webhook.js';

let wss: WebSocketServer | undefined;
let url = '';
const pendingSockets: ((socket: WebSocket) => void)[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

/** Starts the server if needed; `socket` resolves with the next connection (wrapped so it is not awaited here). */
async function nextSocket(): Promise<{ socket: Promise<WebSocket> }> {
  if (!wss) {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media/vobiz`;
    wss.on('connection', (socket) => pendingSockets.shift()?.(socket));
  }
  return { socket: new Promise((resolve) => pendingSockets.push(resolve)) };
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  if (!wss) return;
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss!.close(() => resolve()));
});

function collect(): {
  events: TransportEvent[];
  listener: (event: TransportEvent) => void;
  wait: (n: number) => Promise<void>;
} {
  const events: TransportEvent[] = [];
  const checks = new Set<() => void>();
  return {
    events,
    listener: (event) => {
      events.push(event);
      for (const check of [...checks]) check();
    },
    wait: (count) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${events.length} events`)), 3000);
        const check = (): void => {
          if (events.length < count) return;
          clearTimeout(timer);
          checks.delete(check);
          resolve();
        };
        checks.add(check);
        check();
      }),
  };
}

async function connect(contentType: PlivoCallerContentType, clock: ManualClock) {
  const socketPromise = await nextSocket();
  const caller = await startVobizCaller({
    url,
    contentType,
    clock,
    extraHeaders: { callId: 'c1', token: 't1' },
  });
  cleanups.push(() => caller.hangUp().catch(() => {}));
  const accepted = await VobizMediaTransport.accept(await socketPromise.socket, {
    startTimeoutMs: 2000,
    clock,
  });
  const log = collect();
  accepted.transport.setListener(log.listener);
  return { caller, ...accepted, log };
}

describe('VobizMediaTransport', () => {
  it('swaps big-endian L16 from the caller to little-endian PCM16 and declares pcm16/8000', async () => {
    const clock = new ManualClock();
    const { caller, transport, start, log } = await connect('audio/x-l16;rate=8000', clock);
    const expectedFormat = { encoding: 'pcm16', sampleRateHz: 8000, channels: 1 };
    expect(start).toMatchObject({
      customParameters: { callId: 'c1', token: 't1' },
      inputFormat: expectedFormat,
    });
    expect(transport.carrier).toBe('vobiz');
    expect(transport.outputFormat).toEqual(expectedFormat);
    const speech = loadFixture('opening-hours').samples.subarray(0, 1600);
    const played = caller.play(speech);
    await clock.advance(20 * 12);
    const times = await played;
    const audioEvents = log.events.filter((event) => event.type === 'audio');
    const first = (times.startedAtMs - caller.startSentAtMs) / 20;
    const received = Buffer.concat(audioEvents.slice(first, first + 10).map((event) => event.audio));
    expect(received).toEqual(pcm16SamplesToBytes(speech));
  });

  it('sends playAudio as little-endian L16 the caller hears unchanged; playedStream without streamId acks', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connect('audio/x-l16;rate=8000', clock);
    const speech = loadFixture('thank-you').samples.subarray(0, 3200);
    const bytes = pcm16SamplesToBytes(speech);
    for (let offset = 0; offset < bytes.length; offset += 320)
      transport.sendAudio(bytes.subarray(offset, offset + 320));
    transport.sendMark('done');
    const checkpoint = await caller.waitFor(() =>
      caller.checkpoints.find((received) => received.name === 'done'),
    );
    await clock.advance(400);
    await log.wait(log.events.filter((event) => event.type === 'audio').length + 1);
    expect(log.events.filter((event) => event.type === 'mark')).toEqual([{ type: 'mark', name: 'done' }]);
    expect(caller.invalidMessages).toEqual([]);
    const heard = caller.heardAudio();
    const startSample = (checkpoint.atMs - caller.startSentAtMs) * 8;
    expect(heard.subarray(startSample, startSample + speech.length)).toEqual(speech);
  });

  it('serves μ-law too, with no byte swapping', async () => {
    const clock = new ManualClock();
    const { transport, start, log } = await connect('audio/x-mulaw;rate=8000', clock);
    expect(start.inputFormat).toEqual(MULAW_8K);
    expect(transport.inputFormat).toEqual(MULAW_8K);
    await clock.advance(20);
    await log.wait(2);
    expect(
      log.events.slice(0, 2).every((event) => event.type === 'audio' && event.audio.every((b) => b === 0xff)),
    ).toBe(true);
  });

  it('refuses a format the core cannot take, naming the Vobiz settings that work', async () => {
    const socketPromise = await nextSocket();
    const { default: WebSocketClient } = await import('ws');
    const client = new WebSocketClient(url);
    await once(client, 'open');
    cleanups.push(() => client.terminate());
    const accepting = VobizMediaTransport.accept(await socketPromise.socket, { startTimeoutMs: 2000 });
    client.send(
      JSON.stringify({
        event: 'start',
        start: { callId: 'c', streamId: 's', mediaFormat: { encoding: 'audio/x-l16', sampleRate: 44100 } },
      }),
    );
    await expect(accepting).rejects.toMatchObject({ carrier: 'vobiz', code: 'unsupported_media_format' });
    await expect(accepting).rejects.toThrow(/audio\/x-l16;rate=8000\|16000\|24000/);
  });
});

describe('an inbound Vobiz call end to end', () => {
  it('signed answer webhook → <Stream> with maxRetries → media socket carrying our call id and token', async () => {
    const socketPromise = await nextSocket();
    const authToken = 'vobiz-auth-token';
    const verified: boolean[] = [];
    const http = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const fullUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}${request.url}`;
        verified.push(
          verifyVobizSignature({
            url: fullUrl,
            method: 'POST',
            params: {},
            headers: request.headers,
            authToken,
          }),
        );
        const document = buildVobizStreamDocument({
          mediaUrl: url,
          extraHeaders: { callId: 'c9', token: 'tok9' },
          maxRetries: 2,
        });
        response.writeHead(200, { 'content-type': document.contentType });
        response.end(document.body);
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const result = await placeVobizInboundCall({
      answerUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/vobiz/answer?org=o1`,
      authToken,
      from: '+919876543210',
      to: '+918012345678',
    });
    expect(verified).toEqual([true]);
    if (result.kind !== 'stream') throw new Error('expected a stream');
    cleanups.push(() => result.caller.hangUp().catch(() => {}));
    expect(result.attributes['maxRetries']).toBe('2');
    const { start, transport } = await VobizMediaTransport.accept(await socketPromise.socket, {
      startTimeoutMs: 2000,
    });
    expect(start).toMatchObject({
      carrierCallId: result.callUuid,
      customParameters: { callId: 'c9', token: 'tok9' },
    });
    expect(transport.inputFormat).toEqual(MULAW_8K);
  });
});
