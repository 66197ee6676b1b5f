import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeMulaw, encodeMulaw, ManualClock, MULAW_8K } from '@parley/voice';
import type { TransportEvent } from '@parley/voice';
import { loadFixture, placePlivoInboundCall, startPlivoCaller } from '@parley/testkit';
import { PlivoMediaError, PlivoMediaTransport } from './media.js';
import { buildPlivoStreamDocument, verifyPlivoSignature } from './webhook.js';

/** A media endpoint on 127.0.0.1 that hands each accepted socket to the test, with its raw frames. */
class TestServer {
  readonly url: string;
  private readonly queue: { socket: WebSocket; raw: string[] }[] = [];
  private readonly waiting: ((connection: { socket: WebSocket; raw: string[] }) => void)[] = [];

  private constructor(private readonly wss: WebSocketServer) {
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media/plivo`;
    wss.on('connection', (socket) => {
      const connection = { socket, raw: [] as string[] };
      socket.on('message', (data, isBinary) => {
        if (!isBinary) connection.raw.push(data.toString());
      });
      const waiter = this.waiting.shift();
      if (waiter) waiter(connection);
      else this.queue.push(connection);
    });
  }

  static async start(): Promise<TestServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    return new TestServer(wss);
  }

  nextConnection(): Promise<{ socket: WebSocket; raw: string[] }> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Transport events as the session would see them, with an event-driven wait. */
class EventLog {
  readonly events: TransportEvent[] = [];
  private readonly checks = new Set<() => void>();

  readonly listener = (event: TransportEvent): void => {
    this.events.push(event);
    for (const check of [...this.checks]) check();
  };

  of<K extends TransportEvent['type']>(type: K): Extract<TransportEvent, { type: K }>[] {
    return this.events.filter((event): event is Extract<TransportEvent, { type: K }> => event.type === type);
  }

  waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.checks.delete(check);
        reject(new Error(`condition not met; events: ${this.events.map((event) => event.type).join(',')}`));
      }, timeoutMs);
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.checks.delete(check);
        resolve();
      };
      this.checks.add(check);
      check();
    });
  }
}

/** μ-law of a 1 kHz tone at about -12 dBFS. */
function toneMulaw(durationMs: number): Uint8Array {
  const samples = new Int16Array(durationMs * 8);
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  return encodeMulaw(samples);
}

function sendInFrames(transport: PlivoMediaTransport, mulaw: Uint8Array): void {
  for (let offset = 0; offset < mulaw.length; offset += 160)
    transport.sendAudio(mulaw.subarray(offset, offset + 160));
}

/** Resolves once `condition` holds over the raw frames the server socket received. */
function waitForRaw(
  socket: WebSocket,
  raw: string[],
  condition: (texts: string[]) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!condition(raw)) return;
      socket.off('message', check);
      resolve();
    };
    socket.on('message', check);
    check();
  });
}

let server: TestServer | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await server?.close();
});

async function connectCall(options: { clock?: ManualClock; extraHeaders?: Record<string, string> } = {}) {
  server ??= await TestServer.start();
  const connection = server.nextConnection();
  const caller = await startPlivoCaller({ url: server.url, ...options });
  cleanups.push(() => caller.hangUp().catch(() => {}));
  const { socket, raw } = await connection;
  const accepted = await PlivoMediaTransport.accept(socket, { startTimeoutMs: 2000 });
  const log = new EventLog();
  accepted.transport.setListener(log.listener);
  return { caller, ...accepted, log, raw, socket };
}

async function rawClient(): Promise<{ client: WebSocket; socket: WebSocket; raw: string[] }> {
  server ??= await TestServer.start();
  const connection = server.nextConnection();
  const client = new WebSocket(server.url);
  await once(client, 'open');
  cleanups.push(() => client.terminate());
  const { socket, raw } = await connection;
  return { client, socket, raw };
}

const START = {
  event: 'start',
  sequenceNumber: 1,
  start: {
    callId: 'call-1',
    streamId: 'stream-1',
    accountId: 'MA1',
    tracks: ['inbound'],
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 },
  },
  extra_headers: 'callId=c1;token=t1',
};

describe('PlivoMediaTransport with a Plivo-style caller', () => {
  it('turns start into the carrier-neutral MediaStreamStart, μ-law both ways, marks supported', async () => {
    const { start, transport, caller } = await connectCall({
      extraHeaders: { callId: 'c42', token: 'tok9' },
    });
    expect(start).toEqual({
      carrierCallId: caller.callId,
      streamId: caller.streamId,
      customParameters: { callId: 'c42', token: 'tok9' },
      inputFormat: MULAW_8K,
      outputFormat: MULAW_8K,
    });
    expect(transport.carrier).toBe('plivo');
    expect(transport.inputFormat).toEqual(MULAW_8K);
    expect(transport.capabilities).toEqual({ marks: true, sendDtmf: false, transfer: false });
  });

  it('delivers the caller line as one 20 ms frame per 20 ms of clock time, speech intact', async () => {
    const clock = new ManualClock();
    const { caller, log, transport } = await connectCall({ clock });
    const speech = loadFixture('thank-you').samples;
    const frames = Math.ceil(speech.length / 160);
    const played = caller.play(speech);
    await clock.advance(20 * (frames + 5));
    const times = await played;
    await log.waitFor(() => log.of('audio').length === frames + 6);
    expect(log.of('audio').every((event) => event.audio.byteLength === 160)).toBe(true);
    const bytes = Buffer.concat(log.of('audio').map((event) => event.audio));
    const first = (times.startedAtMs - caller.startSentAtMs) / 20;
    expect(bytes.subarray(0, first * 160).every((byte) => byte === 0xff)).toBe(true);
    expect(bytes.subarray(first * 160, first * 160 + speech.length)).toEqual(
      Buffer.from(encodeMulaw(speech)),
    );
    expect(transport.stats).toMatchObject({
      mediaFramesReceived: frames + 6,
      sequenceGaps: 0,
      malformedMessages: 0,
    });
  });

  it('the caller hears the agent audio as sent, and a checkpoint is answered only once it has played', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({ clock });
    const tone = toneMulaw(400);
    sendInFrames(transport, tone);
    transport.sendMark('utt-1');
    const checkpoint = await caller.waitFor(() =>
      caller.checkpoints.find((received) => received.name === 'utt-1'),
    );
    expect(caller.bufferedOutboundMs).toBe(400);
    await clock.advance(399);
    expect(checkpoint.playedAtMs).toBeNull();
    expect(log.of('mark')).toEqual([]);
    await clock.advance(1);
    expect(checkpoint.playedAtMs).toBe(checkpoint.atMs + 400);
    await log.waitFor(() => log.of('mark').length === 1);
    expect(log.of('mark')).toEqual([{ type: 'mark', name: 'utt-1' }]);
    const heard = caller.heardAudio();
    const startSample = (checkpoint.atMs - caller.startSentAtMs) * 8;
    expect(heard.subarray(startSample, startSample + tone.length)).toEqual(decodeMulaw(tone));
    expect(caller.invalidMessages).toEqual([]);
  });

  it('clear stops playback at once; pending checkpoints become marks on clearedAudio, never playedStream', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({ clock });
    const tone = toneMulaw(1000);
    sendInFrames(transport, tone);
    transport.sendMark('a');
    transport.sendMark('b');
    await caller.waitFor(() => caller.checkpoints.length === 2);
    const audioStartMs = caller.received.find((message) => message.kind === 'playAudio')!.atMs;
    await clock.advance(100);
    const clearSentAtMs = clock.now();
    transport.clear();
    await log.waitFor(() => log.of('mark').length === 2);
    expect(log.of('mark').map((event) => event.name)).toEqual(['a', 'b']);
    expect(caller.checkpoints.map((checkpoint) => checkpoint.cleared)).toEqual([true, true]);
    expect(caller.playedSent).toEqual([]);
    expect(caller.received.find((message) => message.kind === 'clearAudio')).toMatchObject({
      discardedMs: 900,
    });
    expect(transport.stats.checkpointsCleared).toBe(2);
    await clock.advance(500);
    const heard = caller.heardAudio();
    const startSample = (audioStartMs - caller.startSentAtMs) * 8;
    const playedSamples = (clearSentAtMs - audioStartMs) * 8;
    expect(heard.subarray(startSample, startSample + playedSamples)).toEqual(
      decodeMulaw(tone.subarray(0, playedSamples)),
    );
    expect(heard.subarray(startSample + playedSamples).every((sample) => sample === 0)).toBe(true);
  });

  it('passes DTMF digits through', async () => {
    const { caller, log } = await connectCall();
    caller.sendDtmf('5');
    caller.sendDtmf('#');
    await log.waitFor(() => log.of('dtmf').length === 2);
    expect(log.of('dtmf').map((event) => event.digit)).toEqual(['5', '#']);
  });

  it('reports the caller hanging up (the socket closing) once', async () => {
    const { caller, log, socket, transport } = await connectCall();
    await caller.hangUp();
    if (socket.readyState !== socket.CLOSED) await once(socket, 'close');
    expect(log.of('hangup')).toEqual([{ type: 'hangup', reason: 'caller hung up' }]);
    transport.sendAudio(toneMulaw(20));
    expect(transport.stats.sendsAfterClose).toBe(1);
  });

  it('hangUp closes the stream for the caller without reporting a hangup back', async () => {
    const { caller, log, transport } = await connectCall();
    await transport.hangUp('agent_hangup');
    await caller.waitFor(() => caller.closedAtMs !== null);
    expect(caller.closedBy).toBe('server');
    expect(caller.closeCode).toBe(1000);
    expect(log.of('hangup')).toEqual([]);
  });

  it('keeps caller audio that arrives before the session registers its listener', async () => {
    const clock = new ManualClock();
    server ??= await TestServer.start();
    const connection = server.nextConnection();
    const caller = await startPlivoCaller({ url: server.url, clock });
    cleanups.push(() => caller.hangUp().catch(() => {}));
    const { socket, raw } = await connection;
    const { transport } = await PlivoMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    await clock.advance(100);
    await waitForRaw(socket, raw, (texts) => texts.filter((text) => text.includes('"media"')).length === 6);
    const log = new EventLog();
    transport.setListener(log.listener);
    expect(log.of('audio')).toHaveLength(6);
  });
});

describe('an inbound Plivo call end to end', () => {
  it('answer webhook (signed) → <Stream> document → media socket with our call id and token', async () => {
    server ??= await TestServer.start();
    const authToken = 'plivo-auth-token';
    const verified: boolean[] = [];
    const http = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
        const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}${request.url}`;
        verified.push(
          verifyPlivoSignature({ url, method: 'POST', params, headers: request.headers, authToken }),
        );
        const document = buildPlivoStreamDocument({
          mediaUrl: server!.url,
          extraHeaders: { callId: 'c7', token: 'secret7' },
        });
        response.writeHead(200, { 'content-type': document.contentType });
        response.end(document.body);
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const connection = server.nextConnection();
    const result = await placePlivoInboundCall({
      answerUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/plivo/answer?org=o1`,
      authToken,
      from: '+14155550100',
      to: '+14155550199',
    });
    expect(verified).toEqual([true]);
    if (result.kind !== 'stream') throw new Error('expected a stream');
    cleanups.push(() => result.caller.hangUp().catch(() => {}));
    expect(result.attributes).toMatchObject({
      contentType: 'audio/x-mulaw;rate=8000',
      audioTrack: 'inbound',
    });
    const { socket } = await connection;
    const { start } = await PlivoMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    expect(start.customParameters).toEqual({ callId: 'c7', token: 'secret7' });
    expect(start.carrierCallId).toBe(result.callUuid);
  });
});

describe('PlivoMediaTransport with a misbehaving peer', () => {
  it('counts and ignores malformed frames after start; an abrupt drop is connection_lost', async () => {
    const { client, socket } = await rawClient();
    const accepted = PlivoMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    client.send(JSON.stringify(START));
    const { transport } = await accepted;
    const log = new EventLog();
    transport.setListener(log.listener);
    client.send('not json');
    client.send(JSON.stringify({ event: 'media', sequenceNumber: 2, streamId: 'stream-1' }));
    client.send(JSON.stringify({ event: 'playedStream', sequenceNumber: 3 }));
    client.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send(JSON.stringify({ event: 'somethingNew', sequenceNumber: 4 }));
    client.send(JSON.stringify({ event: 'playedStream', sequenceNumber: 5, name: 'never-sent' }));
    const payload = Buffer.alloc(160, 0x7f).toString('base64');
    client.send(JSON.stringify({ event: 'media', sequenceNumber: 6, media: { track: 'inbound', payload } }));
    await log.waitFor(() => log.of('audio').length === 1);
    expect(log.of('audio')[0]!.audio).toEqual(Buffer.alloc(160, 0x7f));
    expect(log.of('mark')).toEqual([]);
    expect(transport.stats).toMatchObject({ malformedMessages: 4, ignoredMessages: 2 });
    client.terminate();
    await log.waitFor(() => log.of('hangup').length === 1);
    expect(log.of('hangup')).toEqual([{ type: 'hangup', reason: 'connection_lost' }]);
  });

  it('a clearedAudio releases only the checkpoints sent before that clear', async () => {
    const { client, socket } = await rawClient();
    const fromServer: unknown[] = [];
    client.on('message', (data) => fromServer.push(JSON.parse(data.toString())));
    const accepted = PlivoMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    client.send(JSON.stringify(START));
    const { transport } = await accepted;
    const log = new EventLog();
    transport.setListener(log.listener);
    transport.sendMark('a');
    transport.clear();
    transport.sendMark('c');
    client.send(JSON.stringify({ event: 'clearedAudio', sequenceNumber: 2, streamId: 'stream-1' }));
    await log.waitFor(() => log.of('mark').length === 1);
    client.send(
      JSON.stringify({ event: 'playedStream', sequenceNumber: 3, streamId: 'stream-1', name: 'c' }),
    );
    await log.waitFor(() => log.of('mark').length === 2);
    expect(log.of('mark').map((event) => event.name)).toEqual(['a', 'c']);
    expect(fromServer).toEqual([
      { event: 'checkpoint', streamId: 'stream-1', name: 'a' },
      { event: 'clearAudio', streamId: 'stream-1' },
      { event: 'checkpoint', streamId: 'stream-1', name: 'c' },
    ]);
  });

  async function expectRejected(
    frames: string[],
    code: string,
    clock?: ManualClock,
  ): Promise<PlivoMediaError> {
    const { client, socket } = await rawClient();
    const rejected = PlivoMediaTransport.accept(socket, { startTimeoutMs: 1000, clock }).then(
      () => {
        throw new Error('accepted');
      },
      (rejection: unknown) => rejection as PlivoMediaError,
    );
    const closed = once(client, 'close');
    for (const frame of frames) client.send(frame);
    if (clock) await clock.advance(1000);
    const error = await rejected;
    expect(error).toBeInstanceOf(PlivoMediaError);
    expect(error.code).toBe(code);
    expect(error.carrier).toBe('plivo');
    const [closeCode] = (await closed) as [number];
    expect(closeCode).toBe(1008);
    return error;
  }

  it('rejects a malformed first message', async () => {
    const error = await expectRejected(['{"event":'], 'malformed_message');
    expect(error.message).toMatch(/not JSON/);
  });

  it('rejects media before start', async () => {
    const media = { event: 'media', sequenceNumber: 1, media: { track: 'inbound', payload: '' } };
    const error = await expectRejected([JSON.stringify(media)], 'unexpected_event');
    expect(error.message).toMatch(/expected start, got media/);
  });

  it('rejects L16, whose byte order Plivo does not document, naming the fix', async () => {
    const linear = {
      ...START,
      start: { ...START.start, mediaFormat: { encoding: 'audio/x-l16', sampleRate: 8000 } },
    };
    const error = await expectRejected([JSON.stringify(linear)], 'unsupported_media_format');
    expect(error.message).toMatch(/audio\/x-l16 8000 Hz.*audio\/x-mulaw;rate=8000/);
  });

  it('rejects when start does not come in time', async () => {
    await expectRejected([], 'start_timeout', new ManualClock());
  });

  it('rejects when the socket closes before start', async () => {
    const { client, socket } = await rawClient();
    const accepting = PlivoMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    client.close();
    await expect(accepting).rejects.toMatchObject({ code: 'closed_before_start' });
  });
});
