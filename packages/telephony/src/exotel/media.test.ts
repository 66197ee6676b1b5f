import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { ManualClock, encodeMulaw, pcm16BytesToSamples, pcm16SamplesToBytes } from '@parley/voice';
import type { TransportEvent } from '@parley/voice';
import { loadFixture, startExotelCaller } from '@parley/testkit';
import type { ExotelCallerOptions } from '@parley/testkit';
import { ExotelMediaError, ExotelMediaTransport, exotelChunkBytes } from './media.js';

/** A media endpoint on 127.0.0.1 that hands each accepted socket to the test. */
class TestServer {
  readonly url: string;
  private readonly queue: WebSocket[] = [];
  private readonly waiting: ((socket: WebSocket) => void)[] = [];

  private constructor(private readonly wss: WebSocketServer) {
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media/exotel`;
    wss.on('connection', (socket) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(socket);
      else this.queue.push(socket);
    });
  }

  static async start(): Promise<TestServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    return new TestServer(wss);
  }

  nextConnection(): Promise<WebSocket> {
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

/** Resolves once `condition` holds, re-checked on every frame the server socket receives. */
function whenServerReceived(socket: WebSocket, condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!condition()) return;
      socket.off('message', onMessage);
      resolve();
    };
    // Registered after the transport's own listener, so the transport has handled the frame.
    const onMessage = (): void => check();
    socket.on('message', onMessage);
    check();
  });
}

/** PCM16 of a 1 kHz tone at about -12 dBFS, 8 kHz. */
function toneSamples(durationMs: number): Int16Array {
  const samples = new Int16Array(durationMs * 8);
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  return samples;
}

/** Sends audio in 20 ms frames, as the session's pacer does. */
function sendInFrames(transport: ExotelMediaTransport, audio: Uint8Array, frameBytes: number): void {
  for (let offset = 0; offset < audio.length; offset += frameBytes)
    transport.sendAudio(audio.subarray(offset, offset + frameBytes));
}

let server: TestServer | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

async function connectCall(options: Partial<ExotelCallerOptions> = {}, clock?: ManualClock) {
  server ??= await TestServer.start();
  const connection = server.nextConnection();
  const caller = await startExotelCaller({ url: server.url, ...(clock ? { clock } : {}), ...options });
  cleanups.push(() => caller.hangUp().catch(() => {}));
  const socket = await connection;
  const accepted = await ExotelMediaTransport.accept(socket, {
    startTimeoutMs: 2000,
    ...(clock ? { clock } : {}),
  });
  const log = new EventLog();
  accepted.transport.setListener(log.listener);
  return { caller, ...accepted, log, socket };
}

async function rawClient(): Promise<{ client: WebSocket; socket: WebSocket }> {
  server ??= await TestServer.start();
  const connection = server.nextConnection();
  const client = new WebSocket(server.url);
  await once(client, 'open');
  cleanups.push(() => client.terminate());
  return { client, socket: await connection };
}

const START = {
  event: 'start',
  sequence_number: '1',
  stream_sid: 'MZ1',
  start: {
    stream_sid: 'MZ1',
    call_sid: 'CA1',
    account_sid: 'AC1',
    from: '+919800000001',
    to: '+918000000002',
    custom_parameters: { callId: 'c_1' },
    media_format: { encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' },
  },
};

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await server?.close();
});

describe('ExotelMediaTransport with an Exotel-style caller', () => {
  it('reads the call, its custom parameters and the audio format from start', async () => {
    const { start, call, transport, caller } = await connectCall({
      customParameters: { callId: 'c_42', token: 't' },
      from: '+919811111111',
    });
    expect(start).toEqual({
      carrierCallId: caller.callSid,
      streamId: caller.streamSid,
      customParameters: { callId: 'c_42', token: 't' },
      inputFormat: { encoding: 'pcm16', sampleRateHz: 8000, channels: 1 },
      outputFormat: { encoding: 'pcm16', sampleRateHz: 8000, channels: 1 },
    });
    expect(call).toEqual({ accountSid: caller.accountSid, from: '+919811111111', to: '+918000000002' });
    expect(transport.capabilities).toEqual({ marks: true, sendDtmf: false, transfer: false });
    // 100 ms of 8 kHz PCM16 is 1600 bytes: exactly five 320-byte quanta.
    expect(transport.chunkBytes).toBe(1600);
  });

  it('delivers the caller’s speech as PCM16, in order, one frame per frame period', async () => {
    const clock = new ManualClock();
    const { caller, log, transport } = await connectCall({}, clock);
    const speech = loadFixture('thank-you').samples;
    const frames = Math.ceil(speech.length / 160);
    const played = caller.play(speech);
    await clock.advance(20 * (frames + 2));
    const times = await played;
    await log.waitFor(() => log.of('audio').length >= frames + 2);
    const heard = pcm16BytesToSamples(Buffer.concat(log.of('audio').map((event) => event.audio)));
    const first = (times.startedAtMs - caller.startSentAtMs) / 20;
    expect(heard.subarray(0, first * 160).every((sample) => sample === 0)).toBe(true);
    expect(heard.subarray(first * 160, first * 160 + speech.length)).toEqual(speech);
    expect(transport.stats).toMatchObject({ sequenceGaps: 0, malformedMessages: 0 });
  });

  it('gathers 20 ms frames into 100 ms chunks of 320-byte multiples and pads the rest at a mark', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({}, clock);
    const tone = pcm16SamplesToBytes(toneSamples(240));
    sendInFrames(transport, tone, 320);
    // Twelve 20 ms frames: two full chunks went out, two frames wait for more audio.
    expect(transport.stats.chunksSent).toBe(2);
    expect(transport.stagedMs).toBe(40);
    transport.sendMark('utt-1');
    const mark = await caller.waitFor(() => caller.marks.find((received) => received.name === 'utt-1'));
    expect(caller.media.map((chunk) => chunk.byteLength)).toEqual([1600, 1600, 1600]);
    expect(caller.nonCompliantChunks).toBe(0);
    expect(transport.stats).toMatchObject({ audioBytesSent: 3840, paddingBytesSent: 960, chunksSent: 3 });
    // The mark comes back once all 300 ms (the tone and its padding) have played.
    await clock.advance(299);
    expect(mark.echoedAtMs).toBeNull();
    await clock.advance(1);
    await log.waitFor(() => log.of('mark').length === 1);
    expect(mark.echoedAtMs).toBe(mark.atMs + 300);
    const heard = caller.heardAudio();
    const startSample = (caller.media[0]!.playsAtMs - caller.startSentAtMs) * 8;
    expect(heard.subarray(startSample, startSample + 1920)).toEqual(toneSamples(240));
    expect(heard.subarray(startSample + 1920, startSample + 2400).every((sample) => sample === 0)).toBe(true);
  });

  it('sends what is gathered, padded, when the audio pauses without a mark', async () => {
    const clock = new ManualClock();
    const { caller, transport } = await connectCall({}, clock);
    sendInFrames(transport, pcm16SamplesToBytes(toneSamples(60)), 320);
    expect(transport.stats.chunksSent).toBe(0);
    await clock.advance(59);
    expect(transport.stats.chunksSent).toBe(0);
    await clock.advance(1);
    await caller.waitFor(() => caller.media.length === 1);
    expect(caller.media[0]).toMatchObject({ byteLength: 1600, compliant: true });
  });

  it('uses 960-byte chunks for μ-law (the smallest multiple of 320 bytes holding 100 ms)', async () => {
    const clock = new ManualClock();
    const { caller, transport } = await connectCall({ encoding: 'mulaw' }, clock);
    expect(transport.outputFormat.encoding).toBe('mulaw');
    expect(transport.chunkBytes).toBe(960);
    sendInFrames(transport, encodeMulaw(toneSamples(200)), 160);
    transport.sendMark('end');
    await caller.waitFor(() => caller.marks.length === 1);
    expect(caller.media.map((chunk) => chunk.byteLength)).toEqual([960, 960]);
    expect(caller.nonCompliantChunks).toBe(0);
  });

  it('clear drops gathered audio and resolves pending marks itself', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({}, clock);
    sendInFrames(transport, pcm16SamplesToBytes(toneSamples(200)), 320);
    transport.sendMark('a');
    sendInFrames(transport, pcm16SamplesToBytes(toneSamples(60)), 320);
    await caller.waitFor(() => caller.marks.length === 1);
    await clock.advance(50);
    transport.clear();
    expect(transport.stats.audioBytesDroppedByClear).toBe(960);
    // This caller, like Exotel as far as its docs say, does not return marks on clear: we do.
    await log.waitFor(() => log.of('mark').length === 1);
    expect(log.of('mark')).toEqual([{ type: 'mark', name: 'a' }]);
    await caller.waitFor(() => caller.clears.length === 1);
    expect(caller.received.find((message) => message.kind === 'clear')).toMatchObject({ discardedMs: 150 });
    // Past the idle flush: the dropped 60 ms never reaches the caller (a later mark proves the order).
    await clock.advance(200);
    transport.sendMark('probe');
    await caller.waitFor(() => caller.marks.some((mark) => mark.name === 'probe'));
    expect(caller.media).toHaveLength(2);
    expect(caller.marksEchoed.map((mark) => mark.name)).toEqual(['probe']);
  });

  it('ignores Exotel’s own echo of a mark it already resolved on clear', async () => {
    const clock = new ManualClock();
    const { caller, transport, log, socket } = await connectCall({ echoMarksOnClear: true }, clock);
    sendInFrames(transport, pcm16SamplesToBytes(toneSamples(200)), 320);
    transport.sendMark('a');
    await caller.waitFor(() => caller.marks.length === 1);
    transport.clear();
    await caller.waitFor(() => caller.marksEchoed.length === 1);
    await whenServerReceived(socket, () => transport.stats.ignoredMessages === 1);
    expect(log.of('mark')).toEqual([{ type: 'mark', name: 'a' }]);
  });

  it('passes DTMF digits through', async () => {
    const { caller, log } = await connectCall();
    caller.sendDtmf('5');
    caller.sendDtmf('#');
    await log.waitFor(() => log.of('dtmf').length === 2);
    expect(log.of('dtmf').map((event) => event.digit)).toEqual(['5', '#']);
  });

  it('reports a caller hang-up (stop) once and closes the socket', async () => {
    const { caller, log, socket, transport } = await connectCall();
    await caller.hangUp();
    if (socket.readyState !== socket.CLOSED) await once(socket, 'close');
    expect(log.of('hangup')).toEqual([{ type: 'hangup', reason: 'caller hung up' }]);
    transport.sendAudio(new Uint8Array(320));
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
});

describe('ExotelMediaTransport with a misbehaving peer', () => {
  it('counts and ignores malformed frames after start', async () => {
    const { client, socket } = await rawClient();
    const accepted = ExotelMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    client.send(JSON.stringify({ event: 'connected' }));
    client.send(JSON.stringify(START));
    const { transport } = await accepted;
    const log = new EventLog();
    transport.setListener(log.listener);
    client.send('not json');
    client.send(JSON.stringify({ event: 'media', sequence_number: '2', stream_sid: 'MZ1' }));
    client.send(
      JSON.stringify({ event: 'dtmf', sequence_number: '3', stream_sid: 'MZ1', dtmf: { digit: 'Z' } }),
    );
    client.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send(JSON.stringify({ event: 'something-new', sequence_number: '4', stream_sid: 'MZ1' }));
    const payload = Buffer.alloc(1600, 1).toString('base64');
    client.send(
      JSON.stringify({ event: 'media', sequence_number: '5', stream_sid: 'MZ1', media: { payload } }),
    );
    await log.waitFor(() => log.of('audio').length === 1);
    expect(log.of('audio')[0]!.audio).toEqual(Buffer.alloc(1600, 1));
    expect(transport.stats).toMatchObject({ malformedMessages: 4, ignoredMessages: 1 });
    client.close();
    await log.waitFor(() => log.of('hangup').length === 1);
    expect(log.of('hangup')).toEqual([{ type: 'hangup', reason: 'connection_lost' }]);
  });

  async function expectRejected(
    frames: string[],
    code: string,
    clock?: ManualClock,
  ): Promise<ExotelMediaError> {
    const { client, socket } = await rawClient();
    const rejected = ExotelMediaTransport.accept(socket, {
      startTimeoutMs: 1000,
      ...(clock ? { clock } : {}),
    }).then(
      () => {
        throw new Error('accepted');
      },
      (rejection: unknown) => rejection as ExotelMediaError,
    );
    const closed = once(client, 'close');
    for (const frame of frames) client.send(frame);
    if (clock) await clock.advance(1000);
    const error = await rejected;
    expect(error).toBeInstanceOf(ExotelMediaError);
    expect(error.code).toBe(code);
    const [closeCode] = (await closed) as [number];
    expect(closeCode).toBe(1008);
    return error;
  }

  it('refuses a stream whose start does not come in time', async () => {
    const error = await expectRejected(
      [JSON.stringify({ event: 'connected' })],
      'start_timeout',
      new ManualClock(),
    );
    expect(error.message).toMatch(/no start within 1000 ms/);
  });

  it('refuses media before start', async () => {
    const media = { event: 'media', sequence_number: '1', stream_sid: 'MZ1', media: { payload: '' } };
    const error = await expectRejected([JSON.stringify(media)], 'unexpected_event');
    expect(error.message).toMatch(/expected start, got media/);
  });

  it('refuses a media format Parley cannot play', async () => {
    const opus = {
      ...START,
      start: { ...START.start, media_format: { encoding: 'audio/opus', sample_rate: '48000' } },
    };
    const error = await expectRejected([JSON.stringify(opus)], 'unsupported_media_format');
    expect(error.message).toMatch(/audio\/opus 48000 Hz/);
  });

  it('refuses a malformed first message', async () => {
    await expectRejected(['{"event":'], 'malformed_message');
  });
});

describe('exotelChunkBytes', () => {
  it('is the smallest multiple of 320 bytes holding the minimum duration', () => {
    expect(exotelChunkBytes({ encoding: 'pcm16', sampleRateHz: 16000, channels: 1 })).toBe(3200);
    expect(exotelChunkBytes({ encoding: 'pcm16', sampleRateHz: 24000, channels: 1 })).toBe(4800);
    expect(exotelChunkBytes({ encoding: 'pcm16', sampleRateHz: 8000, channels: 1 }, 200)).toBe(3200);
  });
});
