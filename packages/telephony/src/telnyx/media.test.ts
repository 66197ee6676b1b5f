import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LEAVING_TRANSFERRED_CALL, ManualClock, decodeMulaw, encodeMulaw } from '@parley/voice';
import type { TransportEvent } from '@parley/voice';
import { loadFixture, startTelnyxCaller, startTelnyxRestSimulator } from '@parley/testkit';
import type { TelnyxCallerOptions, TelnyxRestSimulator } from '@parley/testkit';
import { TelnyxCallControl } from './call-control.js';
import { TelnyxMediaError, TelnyxMediaTransport } from './media.js';
import type { TelnyxAcceptOptions } from './media.js';
import { encodeTelnyxClientState } from './messages.js';

class TestServer {
  readonly url: string;
  private readonly queue: WebSocket[] = [];
  private readonly waiting: ((socket: WebSocket) => void)[] = [];

  private constructor(private readonly wss: WebSocketServer) {
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media/telnyx`;
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

function whenServerReceived(socket: WebSocket, condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!condition()) return;
      socket.off('message', check);
      resolve();
    };
    socket.on('message', check);
    check();
  });
}

/** μ-law of a 1 kHz tone at about -12 dBFS. */
function toneMulaw(durationMs: number): Uint8Array {
  const samples = new Int16Array(durationMs * 8);
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
  return encodeMulaw(samples);
}

function sendInFrames(transport: TelnyxMediaTransport, mulaw: Uint8Array): void {
  for (let offset = 0; offset < mulaw.length; offset += 160)
    transport.sendAudio(mulaw.subarray(offset, offset + 160));
}

let server: TestServer | undefined;
let rest: TelnyxRestSimulator | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

async function connectCall(
  callerOptions: Partial<TelnyxCallerOptions> = {},
  acceptOptions: Partial<TelnyxAcceptOptions> = {},
) {
  server ??= await TestServer.start();
  const connection = server.nextConnection();
  const caller = await startTelnyxCaller({ url: server.url, ...callerOptions });
  cleanups.push(() => caller.hangUp().catch(() => {}));
  const socket = await connection;
  const accepted = await TelnyxMediaTransport.accept(socket, { startTimeoutMs: 2000, ...acceptOptions });
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
  stream_id: 'stream-1',
  start: {
    call_control_id: 'v3:call-1',
    media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
  },
};

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await server?.close();
  await rest?.close();
});

describe('TelnyxMediaTransport with a Telnyx-style caller', () => {
  it('reads the call, its parameters (custom and client_state) and the codec from start', async () => {
    const { start, call, transport, caller } = await connectCall({
      clientState: encodeTelnyxClientState({ callId: 'c_42', token: 't' }),
      customParameters: { tenant: 'acme' },
    });
    expect(start).toEqual({
      carrierCallId: caller.callControlId,
      streamId: caller.streamId,
      customParameters: { tenant: 'acme', callId: 'c_42', token: 't' },
      inputFormat: { encoding: 'mulaw', sampleRateHz: 8000, channels: 1 },
      outputFormat: { encoding: 'mulaw', sampleRateHz: 8000, channels: 1 },
    });
    expect(call.to).toBe('+15550000002');
    // Without Call Control the transport can only close the socket.
    expect(transport.capabilities).toEqual({ marks: true, sendDtmf: false, transfer: false });
  });

  it('reads PCMA as A-law', async () => {
    const { transport } = await connectCall({ codec: 'PCMA' });
    expect(transport.inputFormat).toEqual({ encoding: 'alaw', sampleRateHz: 8000, channels: 1 });
  });

  it('carries audio both ways: the caller’s speech in, the agent’s tone out', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({ clock }, { clock });
    const speech = loadFixture('opening-hours').samples;
    const frames = Math.ceil(speech.length / 160);
    const played = caller.play(speech);
    await clock.advance(20 * (frames + 1));
    const times = await played;
    await log.waitFor(() => log.of('audio').length >= frames + 1);
    const inbound = Buffer.concat(log.of('audio').map((event) => event.audio));
    const first = (times.startedAtMs - caller.startSentAtMs) / 20;
    expect(inbound.subarray(first * 160, first * 160 + speech.length)).toEqual(
      Buffer.from(encodeMulaw(speech)),
    );

    const tone = toneMulaw(200);
    sendInFrames(transport, tone);
    transport.sendMark('tone');
    const mark = await caller.waitFor(() => caller.marks.find((received) => received.name === 'tone'));
    await clock.advance(200);
    await log.waitFor(() => log.of('mark').length === 1);
    expect(mark.echoedAtMs).toBe(mark.atMs + 200);
    const heard = caller.heardAudio();
    const startSample = (caller.media[0]!.playsAtMs - caller.startSentAtMs) * 8;
    expect(heard.subarray(startSample, startSample + 1600)).toEqual(decodeMulaw(tone));
  });

  it('clear stops playback at once and Telnyx returns the pending marks', async () => {
    const clock = new ManualClock();
    const { caller, transport, log } = await connectCall({ clock }, { clock });
    sendInFrames(transport, toneMulaw(1000));
    transport.sendMark('a');
    transport.sendMark('b');
    await caller.waitFor(() => caller.marks.length === 2);
    await clock.advance(100);
    transport.clear();
    await log.waitFor(() => log.of('mark').length === 2);
    expect(log.of('mark').map((event) => event.name)).toEqual(['a', 'b']);
    expect(caller.received.find((message) => message.kind === 'clear')).toMatchObject({ discardedMs: 900 });
  });

  it('pads a frame shorter than 20 ms up to Telnyx’s minimum', async () => {
    const { caller, transport } = await connectCall();
    transport.sendAudio(toneMulaw(10));
    await caller.waitFor(() => caller.media.length === 1);
    expect(caller.media[0]!.byteLength).toBe(160);
    expect(caller.received.filter((message) => message.kind === 'invalid')).toEqual([]);
    expect(transport.stats.paddingBytesSent).toBe(80);
  });

  it('passes DTMF through and counts Telnyx error frames without ending the call', async () => {
    const { caller, log, transport, socket } = await connectCall();
    caller.sendError(100002, 'unknown_error');
    caller.sendDtmf('7');
    await log.waitFor(() => log.of('dtmf').length === 1);
    await whenServerReceived(socket, () => transport.stats.carrierErrors === 1);
    expect(log.of('dtmf')[0]!.digit).toBe('7');
    expect(transport.stats.lastCarrierErrorCode).toBe('100002');
    expect(log.of('hangup')).toEqual([]);
  });

  it('reports a caller hang-up (stop) once', async () => {
    const { caller, log, socket } = await connectCall();
    await caller.hangUp();
    if (socket.readyState !== socket.CLOSED) await once(socket, 'close');
    expect(log.of('hangup')).toEqual([{ type: 'hangup', reason: 'caller hung up' }]);
  });

  it('with Call Control, hangUp ends the call over REST before closing the stream, and DTMF and transfer work', async () => {
    rest ??= await startTelnyxRestSimulator();
    const control = new TelnyxCallControl({
      apiKey: rest.apiKey,
      connectionId: rest.connectionId,
      baseUrl: rest.baseUrl,
    });
    const { carrierCallId } = await control.createCall({
      to: '+15550001111',
      from: '+15550002222',
      answerUrl: 'wss://parley.example/media/telnyx?callId=c_9',
      statusCallbackUrl: 'https://parley.example/webhooks/telnyx',
    });
    const { caller, transport, log } = await connectCall(
      { callControlId: carrierCallId },
      { callControl: control },
    );
    expect(transport.capabilities).toEqual({ marks: true, sendDtmf: true, transfer: true });
    await transport.sendDtmf('12#');
    await transport.transfer('+15550003333');
    await transport.hangUp('agent_hangup');
    await caller.waitFor(() => caller.closedAtMs !== null);
    const actions = rest.requests.filter((request) => request.callControlId === carrierCallId);
    expect(actions.map((request) => [request.action, request.json])).toEqual([
      ['send_dtmf', { digits: '12#' }],
      ['transfer', { to: '+15550003333' }],
      ['hangup', {}],
    ]);
    expect(caller.closedBy).toBe('server');
    expect(log.of('hangup')).toEqual([]);
  });

  it('after a transfer, leaves the call without ending it over REST', async () => {
    rest ??= await startTelnyxRestSimulator();
    const control = new TelnyxCallControl({
      apiKey: rest.apiKey,
      connectionId: rest.connectionId,
      baseUrl: rest.baseUrl,
    });
    const { carrierCallId } = await control.createCall({
      to: '+15550001111',
      from: '+15550002222',
      answerUrl: 'wss://parley.example/media/telnyx?callId=c_10',
      statusCallbackUrl: 'https://parley.example/webhooks/telnyx',
    });
    const { caller, transport } = await connectCall(
      { callControlId: carrierCallId },
      { callControl: control },
    );
    await transport.transfer('+15550003333');
    await transport.hangUp(LEAVING_TRANSFERRED_CALL);
    await caller.waitFor(() => caller.closedAtMs !== null);
    const actions = rest.requests.filter((request) => request.callControlId === carrierCallId);
    expect(actions.map((request) => request.action)).toEqual(['transfer']);
    expect(caller.closedBy).toBe('server');
  });

  it('accepts a stream with the expected streaming auth token and refuses one without', async () => {
    const accepted = await connectCall({ authToken: 'secret-token' }, { expectedAuthToken: 'secret-token' });
    expect(accepted.start.streamId).toBe(accepted.caller.streamId);

    server ??= await TestServer.start();
    const connection = server.nextConnection();
    const caller = await startTelnyxCaller({ url: server.url, authToken: 'guessed' });
    cleanups.push(() => caller.hangUp().catch(() => {}));
    const refused = TelnyxMediaTransport.accept(await connection, {
      startTimeoutMs: 2000,
      expectedAuthToken: 'secret-token',
    });
    await expect(refused).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(refused).rejects.not.toThrow(/secret-token|guessed/);
    await caller.waitFor(() => caller.closeCode === 1008);
  });
});

describe('TelnyxMediaTransport with a misbehaving peer', () => {
  it('counts and ignores malformed frames and the outbound track', async () => {
    const { client, socket } = await rawClient();
    const accepted = TelnyxMediaTransport.accept(socket, { startTimeoutMs: 2000 });
    client.send(JSON.stringify({ event: 'connected', version: '1.0.0' }));
    client.send(JSON.stringify(START));
    const { transport } = await accepted;
    const log = new EventLog();
    transport.setListener(log.listener);
    client.send('not json');
    client.send(JSON.stringify({ event: 'media', sequence_number: '2', media: {} }));
    client.send(JSON.stringify({ event: 'mark', sequence_number: '3' }));
    const payload = Buffer.alloc(160, 0x7f).toString('base64');
    client.send(
      JSON.stringify({ event: 'media', sequence_number: '4', media: { track: 'outbound', payload } }),
    );
    client.send(
      JSON.stringify({ event: 'media', sequence_number: '5', media: { track: 'inbound', payload } }),
    );
    await log.waitFor(() => log.of('audio').length === 1);
    expect(transport.stats).toMatchObject({
      malformedMessages: 3,
      ignoredMessages: 1,
      mediaFramesReceived: 1,
    });
  });

  async function expectRejected(
    frames: string[],
    code: string,
    clock?: ManualClock,
  ): Promise<TelnyxMediaError> {
    const { client, socket } = await rawClient();
    const rejected = TelnyxMediaTransport.accept(socket, {
      startTimeoutMs: 1000,
      ...(clock ? { clock } : {}),
    }).then(
      () => {
        throw new Error('accepted');
      },
      (rejection: unknown) => rejection as TelnyxMediaError,
    );
    const closed = once(client, 'close');
    for (const frame of frames) client.send(frame);
    if (clock) await clock.advance(1000);
    const error = await rejected;
    expect(error).toBeInstanceOf(TelnyxMediaError);
    expect(error.code).toBe(code);
    const [closeCode] = (await closed) as [number];
    expect(closeCode).toBe(1008);
    return error;
  }

  it('refuses a stream whose start does not come in time', async () => {
    await expectRejected(
      [JSON.stringify({ event: 'connected', version: '1.0.0' })],
      'start_timeout',
      new ManualClock(),
    );
  });

  it('refuses a codec Parley cannot decode', async () => {
    const opus = {
      ...START,
      start: { ...START.start, media_format: { encoding: 'OPUS', sample_rate: 48000, channels: 1 } },
    };
    const error = await expectRejected([JSON.stringify(opus)], 'unsupported_media_format');
    expect(error.message).toMatch(/OPUS 48000 Hz/);
  });

  it('refuses media before start', async () => {
    await expectRejected([JSON.stringify({ event: 'media', media: { payload: '' } })], 'unexpected_event');
  });
});
