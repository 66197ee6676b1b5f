import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeMulaw, encodeMulaw, ManualClock, MULAW_8K } from '@parley/voice';
import type { TransportEvent } from '@parley/voice';
import { loadFixture, startTwilioCaller } from '@parley/testkit';
import { TwilioMediaError, TwilioMediaTransport } from './media.js';

/** A media endpoint on 127.0.0.1 that hands each accepted socket to the test, with its raw frames. */
class TestServer {
  readonly url: string;
  private readonly queue: { socket: WebSocket; raw: string[] }[] = [];
  private readonly waiting: ((connection: { socket: WebSocket; raw: string[] }) => void)[] = [];

  private constructor(private readonly wss: WebSocketServer) {
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media/twilio`;
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

/** Sends μ-law in 20 ms chunks, as the pacer does. */
function sendInFrames(transport: TwilioMediaTransport, mulaw: Uint8Array): void {
  for (let offset = 0; offset < mulaw.length; offset += 160)
    transport.sendAudio(mulaw.subarray(offset, offset + 160));
}

let server: TestServer | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

async function connectCall(options: { clock?: ManualClock; customParameters?: Record<string, string> } = {}) {
  server ??= await TestServer.start();
  const connection = server.nextConnection();
  const caller = await startTwilioCaller({ url: server.url, ...options });
  cleanups.push(() => caller.hangUp().catch(() => {}));
  const { socket, raw } = await connection;
  const accepted = await TwilioMediaTransport.accept(socket, { startTimeoutMs: 2000 });
  const log = new EventLog();
  accepted.transport.setListener(log.listener);
  return { caller, ...accepted, log, raw, socket };
}

/** A hand-driven client for the malformed and out-of-order cases the caller never produces. */
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
  sequenceNumber: '1',
  streamSid: 'MZ1',
  start: {
    streamSid: 'MZ1',
    accountSid: 'AC1',
    callSid: 'CA1',
    tracks: ['inbound'],
    customParameters: { callId: 'c_1' },
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  },
};

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('TwilioMediaTransport with a Twilio-style caller', () => {
  it('parses the start message and declares μ-law 8 kHz with marks', async () => {
    const { start, transport, caller } = await connectCall({
      customParameters: { callId: 'c_42', token: 't' },
    });
    expect(start).toEqual({
      streamSid: caller.streamSid,
      callSid: caller.callSid,
      accountSid: caller.accountSid,
      customParameters: { callId: 'c_42', token: 't' },
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    });
    expect(start.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(transport.inputFormat).toEqual(MULAW_8K);
    expect(transport.outputFormat).toEqual(MULAW_8K);
    expect(transport.capabilities).toEqual({ marks: true, sendDtmf: false, transfer: false });
  });

  it('delivers the caller line as one 20 ms frame per 20 ms of clock time, in order', async () => {
    const clock = new ManualClock();
    const { caller, log, raw, transport } = await connectCall({ clock });
    await clock.advance(200);
    await log.waitFor(() => log.of('audio').length === 11);
    expect(log.of('audio').every((event) => event.audio.byteLength === 160)).toBe(true);
    const media = raw.map((text) => JSON.parse(text)).filter((message) => message.event === 'media');
    expect(media.map((message) => Number(message.media.timestamp))).toEqual(
      Array.from({ length: 11 }, (_, k) => 20 * k),
    );
    expect(media.map((message) => message.media.chunk)).toEqual(
      Array.from({ length: 11 }, (_, k) => String(k + 1)),
    );
    expect(caller.inboundStats).toMatchObject({ framesSent: 11, lateFrames: 0 });
    expect(transport.stats).toMatchObject({ mediaFramesReceived: 11, sequenceGaps: 0, malformedMessages: 0 });
  });

  it('streams queued speech in order and silence around it', async () => {
    const clock = new ManualClock();
    const { caller, log } = await connectCall({ clock });
    const speech = loadFixture('thank-you').samples;
    const frames = Math.ceil(speech.length / 160);
    const played = caller.play(speech);
    await clock.advance(20 * (frames + 5));
    const times = await played;
    expect(times.endedAtMs - times.startedAtMs).toBe(20 * (frames - 1));
    await log.waitFor(() => log.of('audio').length >= frames + 5);
    const bytes = Buffer.concat(log.of('audio').map((event) => event.audio));
    const first = times.startedAtMs / 20;
    expect(bytes.subarray(0, first * 160).every((byte) => byte === 0xff)).toBe(true);
    expect(bytes.subarray(first * 160, first * 160 + speech.length)).toEqual(
      Buffer.from(encodeMulaw(speech)),
    );
  });

  it('on the real clock, frames keep their absolute schedule', async () => {
    const { caller, log, raw } = await connectCall();
    await log.waitFor(() => log.of('audio').length >= 10);
    const timestamps = raw
      .map((text) => JSON.parse(text))
      .filter((message) => message.event === 'media')
      .map((message) => Number(message.media.timestamp));
    expect(timestamps.slice(0, 10)).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180]);
    expect(caller.inboundStats.framesSent).toBeGreaterThanOrEqual(10);
  });

  it('echoes a mark only once the audio before it has played', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({ clock });
    sendInFrames(transport, toneMulaw(400));
    transport.sendMark('utt-1');
    const mark = await caller.waitFor(() => caller.marks.find((received) => received.name === 'utt-1'));
    expect(caller.bufferedOutboundMs).toBe(400);
    await clock.advance(399);
    expect(mark.echoedAtMs).toBeNull();
    await clock.advance(1);
    expect(mark.echoedAtMs).toBe(mark.atMs + 400);
    await log.waitFor(() => log.of('mark').length === 1);
    expect(log.of('mark')).toEqual([{ type: 'mark', name: 'utt-1' }]);
  });

  it('clear discards unplayed audio, echoes pending marks at once, and the caller hears only what played', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({ clock });
    const tone = toneMulaw(1000);
    sendInFrames(transport, tone);
    transport.sendMark('a');
    transport.sendMark('b');
    await caller.waitFor(() => caller.marks.length === 2);
    const audioStartMs = caller.received.find((message) => message.kind === 'media')!.atMs;
    await clock.advance(100);
    const clearSentAtMs = clock.now();
    transport.clear();
    await log.waitFor(() => log.of('mark').length === 2);
    expect(log.of('mark').map((event) => event.name)).toEqual(['a', 'b']);
    expect(caller.clearsAfter(clearSentAtMs - 1)).toEqual([clearSentAtMs]);
    const clear = caller.received.find((message) => message.kind === 'clear');
    expect(clear).toMatchObject({ discardedMs: 900 });
    await clock.advance(500);
    const heard = caller.heardAudio();
    const startSample = (audioStartMs - caller.startSentAtMs) * 8;
    const playedSamples = (clearSentAtMs - audioStartMs) * 8;
    expect(heard.length).toBe((clock.now() - caller.startSentAtMs) * 8);
    expect(heard.subarray(startSample, startSample + playedSamples)).toEqual(
      decodeMulaw(tone.subarray(0, playedSamples)),
    );
    expect(heard.subarray(startSample + playedSamples).every((sample) => sample === 0)).toBe(true);
  });

  it("the caller's heard audio is the agent's audio back to back, silent gaps included", async () => {
    const clock = new ManualClock();
    const { caller, transport } = await connectCall({ clock });
    const speech = encodeMulaw(loadFixture('opening-hours').samples);
    sendInFrames(transport, speech);
    transport.sendMark('end');
    const mark = await caller.waitFor(() => caller.marks.find((received) => received.name === 'end'));
    await clock.advance(speech.length / 8 + 40);
    expect(mark.echoedAtMs).not.toBeNull();
    const heard = caller.heardAudio();
    const startSample = (mark.atMs - caller.startSentAtMs) * 8;
    expect(heard.subarray(0, startSample).every((sample) => sample === 0)).toBe(true);
    expect(heard.subarray(startSample, startSample + speech.length)).toEqual(decodeMulaw(speech));
    expect(caller.firstNonSilentOutboundAfter(-1)).toBe(mark.atMs);
  });

  it('passes DTMF digits through', async () => {
    const { caller, log } = await connectCall();
    caller.sendDtmf('5');
    caller.sendDtmf('#');
    await log.waitFor(() => log.of('dtmf').length === 2);
    expect(log.of('dtmf').map((event) => event.digit)).toEqual(['5', '#']);
    expect(() => caller.sendDtmf('x')).toThrow(RangeError);
  });

  it('reports a caller hang-up once and closes the socket', async () => {
    const { caller, log, socket, transport } = await connectCall();
    await caller.hangUp();
    expect(caller.closedBy).toBe('caller');
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
    await expect(caller.play('thank-you')).rejects.toThrow(/ended/);
  });

  it('keeps caller audio that arrives before the session registers its listener', async () => {
    const clock = new ManualClock();
    server ??= await TestServer.start();
    const connection = server.nextConnection();
    const caller = await startTwilioCaller({ url: server.url, clock });
    cleanups.push(() => caller.hangUp().catch(() => {}));
    const { socket, raw } = await connection;
    const { transport } = await TwilioMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    await clock.advance(100);
    await caller.waitFor(() => caller.framesSent === 6);
    await waitForRaw(socket, raw, (texts) => texts.filter((text) => text.includes('"media"')).length === 6);
    const log = new EventLog();
    transport.setListener(log.listener);
    expect(log.of('audio')).toHaveLength(6);
  });
});

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

describe('TwilioMediaTransport with a misbehaving peer', () => {
  it('counts and ignores malformed frames after start', async () => {
    const { client, socket } = await rawClient();
    const accepted = TwilioMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    client.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    client.send(JSON.stringify(START));
    const { transport } = await accepted;
    const log = new EventLog();
    transport.setListener(log.listener);
    client.send('not json');
    client.send(JSON.stringify({ event: 'media', sequenceNumber: '2', streamSid: 'MZ1' }));
    client.send(JSON.stringify({ event: 'mark', sequenceNumber: '3', streamSid: 'MZ1', mark: {} }));
    client.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send(JSON.stringify({ event: 'something-new', sequenceNumber: '4', streamSid: 'MZ1' }));
    const payload = Buffer.alloc(160, 0x7f).toString('base64');
    client.send(
      JSON.stringify({ event: 'media', sequenceNumber: '5', streamSid: 'MZ1', media: { payload } }),
    );
    await log.waitFor(() => log.of('audio').length === 1);
    expect(log.of('audio')[0]!.audio).toEqual(Buffer.alloc(160, 0x7f));
    expect(transport.stats).toMatchObject({ malformedMessages: 4, ignoredMessages: 1 });
    client.close();
    await log.waitFor(() => log.of('hangup').length === 1);
    expect(log.of('hangup')).toEqual([{ type: 'hangup', reason: 'connection_lost' }]);
  });

  async function expectRejected(
    frames: string[],
    code: string,
    clock?: ManualClock,
  ): Promise<TwilioMediaError> {
    const { client, socket } = await rawClient();
    const rejected = TwilioMediaTransport.accept(socket, { startTimeoutMs: 1000, clock }).then(
      () => {
        throw new Error('accepted');
      },
      (rejection: unknown) => rejection as TwilioMediaError,
    );
    const closed = once(client, 'close');
    for (const frame of frames) client.send(frame);
    if (clock) await clock.advance(1000);
    const error = await rejected;
    expect(error).toBeInstanceOf(TwilioMediaError);
    expect(error.code).toBe(code);
    const [closeCode] = (await closed) as [number];
    expect(closeCode).toBe(1008);
    return error;
  }

  it('rejects a malformed first message', async () => {
    const error = await expectRejected(['{"event":'], 'malformed_message');
    expect(error.message).toMatch(/not JSON/);
  });

  it('rejects media before start', async () => {
    const media = { event: 'media', sequenceNumber: '1', streamSid: 'MZ1', media: { payload: '' } };
    const error = await expectRejected([JSON.stringify(media)], 'unexpected_event');
    expect(error.message).toMatch(/expected start, got media/);
  });

  it('rejects a media format other than μ-law 8 kHz mono', async () => {
    const linear = {
      ...START,
      start: { ...START.start, mediaFormat: { encoding: 'audio/l16', sampleRate: 16000, channels: 1 } },
    };
    const error = await expectRejected([JSON.stringify(linear)], 'unsupported_media_format');
    expect(error.message).toMatch(/audio\/l16 16000 Hz/);
  });

  it('rejects when start does not come in time', async () => {
    const connected = JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    await expectRejected([connected], 'start_timeout', new ManualClock());
  });

  it('rejects when the socket closes before start', async () => {
    const { client, socket } = await rawClient();
    const accepting = TwilioMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    client.close();
    await expect(accepting).rejects.toMatchObject({ code: 'closed_before_start' });
  });
});

afterAll(async () => {
  await server?.close();
});
