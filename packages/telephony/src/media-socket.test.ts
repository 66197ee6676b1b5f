import { once } from 'node:events';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { ManualClock } from '@parley/voice';
import type { TransportEvent } from '@parley/voice';
import {
  MediaSocket,
  MediaStreamError,
  StartRefusal,
  waitForStart,
  zeroMediaSocketCounters,
} from './media-socket.js';
import type { ParseResult } from './media-socket.js';

// A minimal carrier protocol for exercising the shared handshake: JSON frames with an `event`, an
// optional `connected` first, and a `start` naming its codec. The real carriers' wire formats are
// covered by their own media tests.
type TestMessage =
  | { event: 'connected'; token: string | null }
  | { event: 'start'; sequenceNumber: number | null; codec: string }
  | { event: 'media'; sequenceNumber: number | null; payload: string }
  | { event: 'unknown'; name: string };

function parseTestMessage(text: string): ParseResult<TestMessage> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { ok: false, reason: 'not a JSON object' };
  const record = value as Record<string, unknown>;
  const sequenceNumber = typeof record['seq'] === 'number' ? record['seq'] : null;
  switch (record['event']) {
    case 'connected':
      return { ok: true, message: { event: 'connected', token: String(record['token'] ?? '') || null } };
    case 'start':
      return { ok: true, message: { event: 'start', sequenceNumber, codec: String(record['codec']) } };
    case 'media':
      return { ok: true, message: { event: 'media', sequenceNumber, payload: String(record['payload']) } };
    case undefined:
      return { ok: false, reason: 'no event field' };
    default:
      return { ok: true, message: { event: 'unknown', name: String(record['event']) } };
  }
}

function sequenceNumberOf(message: TestMessage): number | null {
  return message.event === 'start' || message.event === 'media' ? message.sequenceNumber : null;
}

class TestMediaError extends MediaStreamError<'unsupported_media_format' | 'malformed_message' | string> {
  override readonly name = 'TestMediaError';
}

let wss: WebSocketServer | undefined;
const cleanups: (() => void)[] = [];

async function serverUrl(): Promise<{ url: string; port: number }> {
  if (!wss) {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
  }
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}`, port };
}

/** A connected pair: the `ws` client the carrier would be, and our server side of it. */
async function socketPair(): Promise<{ client: WebSocket; socket: WebSocket }> {
  const { url } = await serverUrl();
  const accepted = once(wss!, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(url);
  cleanups.push(() => client.terminate());
  await once(client, 'open');
  const [socket] = await accepted;
  return { client, socket };
}

/**
 * A peer that completes the WebSocket upgrade by hand and then answers nothing, not even the closing
 * handshake (what a wedged carrier edge looks like); it writes only the frames a test gives it.
 */
async function rawPeer(): Promise<{ tcp: Socket; socket: WebSocket; received: Buffer[] }> {
  const { port } = await serverUrl();
  const accepted = once(wss!, 'connection') as Promise<[WebSocket]>;
  const tcp = connect(port, '127.0.0.1');
  cleanups.push(() => tcp.destroy());
  const received: Buffer[] = [];
  tcp.on('data', (chunk: Buffer) => received.push(chunk));
  await once(tcp, 'connect');
  tcp.write(
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const [socket] = await accepted;
  return { tcp, socket, received };
}

/** A client text frame (short payloads only), masked with a zero key as RFC 6455 allows. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('clientFrame: payload too long for a one-byte length');
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

function acceptTest(
  socket: WebSocket,
  options: { startTimeoutMs?: number; clock?: ManualClock; connectedFirst?: boolean } = {},
) {
  const tokens: (string | null)[] = [];
  const accepting = waitForStart(
    socket,
    { startTimeoutMs: options.startTimeoutMs ?? 2000, clock: options.clock },
    {
      label: 'Test',
      parse: parseTestMessage,
      connectedFirst: options.connectedFirst ?? true,
      onConnected: (message) => tokens.push(message.token),
      inspect: (message) =>
        message.codec === 'pcmu'
          ? message
          : new StartRefusal('unsupported_media_format', `unsupported codec ${message.codec}`),
      accept: (start) => ({ start, socket }),
      error: (code, message) => new TestMediaError(code, message),
    },
  );
  return { accepting, tokens };
}

async function expectRefused(
  client: WebSocket,
  accepting: Promise<unknown>,
  code: string,
): Promise<{ error: TestMediaError; closeCode: number; closeReason: string }> {
  const closed = once(client, 'close') as Promise<[number, Buffer]>;
  const error = await accepting.then(
    () => {
      throw new Error('accepted');
    },
    (rejection: unknown) => rejection as TestMediaError,
  );
  expect(error).toBeInstanceOf(TestMediaError);
  expect(error).toBeInstanceOf(MediaStreamError);
  expect(error.code).toBe(code);
  const [closeCode, reason] = await closed;
  return { error, closeCode, closeReason: reason.toString() };
}

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

afterAll(async () => {
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
});

describe('waitForStart', () => {
  it('resolves with the start after one connected, handing the connected frame to the carrier', async () => {
    const { client, socket } = await socketPair();
    const { accepting, tokens } = acceptTest(socket);
    client.send(JSON.stringify({ event: 'connected', token: 'tok' }));
    client.send(JSON.stringify({ event: 'start', seq: 1, codec: 'pcmu' }));
    const { start } = await accepting;
    expect(start).toEqual({ event: 'start', sequenceNumber: 1, codec: 'pcmu' });
    expect(tokens).toEqual(['tok']);
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('refuses a stream whose start does not come in time, closing it as a policy violation', async () => {
    const { client, socket } = await socketPair();
    const clock = new ManualClock();
    const { accepting } = acceptTest(socket, { startTimeoutMs: 1500, clock });
    client.send(JSON.stringify({ event: 'connected', token: null }));
    await clock.advance(1499);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    const advancing = clock.advance(1);
    const { error, closeCode, closeReason } = await expectRefused(client, accepting, 'start_timeout');
    await advancing;
    expect(error.message).toBe('Test media stream: no start within 1500 ms');
    expect([closeCode, closeReason]).toEqual([1008, 'start_timeout']);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('refuses a socket that sends garbage first', async () => {
    const { client, socket } = await socketPair();
    const { accepting } = acceptTest(socket);
    client.send('GET / HTTP/1.1');
    const { error, closeCode, closeReason } = await expectRefused(client, accepting, 'malformed_message');
    expect(error.message).toBe('Test media stream: not JSON before start');
    expect([closeCode, closeReason]).toEqual([1008, 'malformed_message']);
  });

  it('refuses a binary frame before start', async () => {
    const { client, socket } = await socketPair();
    const { accepting } = acceptTest(socket);
    client.send(Buffer.from([0xff, 0x7f]));
    const { error, closeCode } = await expectRefused(client, accepting, 'malformed_message');
    expect(error.message).toBe('Test media stream: binary frame before start');
    expect(closeCode).toBe(1008);
  });

  it('refuses any other event before start, naming an unknown one by its own name', async () => {
    const { client, socket } = await socketPair();
    const { accepting } = acceptTest(socket);
    client.send(JSON.stringify({ event: 'hello' }));
    const { error } = await expectRefused(client, accepting, 'unexpected_event');
    expect(error.message).toBe('Test media stream: expected start, got hello');
  });

  it('allows one connected only, and none where the carrier sends none', async () => {
    const twice = await socketPair();
    const first = acceptTest(twice.socket);
    twice.client.send(JSON.stringify({ event: 'connected', token: 'a' }));
    twice.client.send(JSON.stringify({ event: 'connected', token: 'b' }));
    const refusedTwice = await expectRefused(twice.client, first.accepting, 'unexpected_event');
    expect(refusedTwice.error.message).toBe('Test media stream: expected start, got connected');
    expect(first.tokens).toEqual(['a']);

    const none = await socketPair();
    const second = acceptTest(none.socket, { connectedFirst: false });
    none.client.send(JSON.stringify({ event: 'connected', token: 'a' }));
    await expectRefused(none.client, second.accepting, 'unexpected_event');
    expect(second.tokens).toEqual([]);
  });

  it('refuses a start the carrier cannot serve with the carrier’s reason', async () => {
    const { client, socket } = await socketPair();
    const { accepting } = acceptTest(socket);
    client.send(JSON.stringify({ event: 'start', seq: 1, codec: 'opus' }));
    const { error, closeReason } = await expectRefused(client, accepting, 'unsupported_media_format');
    expect(error.message).toBe('Test media stream: unsupported codec opus');
    expect(closeReason).toBe('unsupported_media_format');
  });

  it('rejects when the socket closes before start, and at once for a socket already closing', async () => {
    const { client, socket } = await socketPair();
    const { accepting } = acceptTest(socket);
    client.close();
    await expect(accepting).rejects.toMatchObject({
      code: 'closed_before_start',
      message: 'Test media stream closed before start',
    });
    await expect(acceptTest(socket).accepting).rejects.toMatchObject({ code: 'closed_before_start' });
  });

  it('hands over to the transport synchronously: a frame right behind start reaches it', async () => {
    const { tcp, socket } = await rawPeer();
    const received: TestMessage[] = [];
    const accepting = waitForStart(
      socket,
      { startTimeoutMs: 2000 },
      {
        label: 'Test',
        parse: parseTestMessage,
        connectedFirst: false,
        inspect: (message) => message,
        accept: (start) =>
          new MediaSocket(
            socket,
            {},
            {
              startSequenceNumber: start.sequenceNumber,
              counters: zeroMediaSocketCounters(),
              parse: parseTestMessage,
              sequenceNumberOf,
              onMessage: (message) => received.push(message),
              onClose: () => {},
            },
          ),
        error: (code, message) => new TestMediaError(code, message),
      },
    );
    // One write: ws reads both frames in one chunk and emits them back to back, in the same tick.
    tcp.write(
      Buffer.concat([
        clientFrame(JSON.stringify({ event: 'start', seq: 1, codec: 'pcmu' })),
        clientFrame(JSON.stringify({ event: 'media', seq: 2, payload: 'AAA' })),
      ]),
    );
    await accepting;
    await expect.poll(() => received.length).toBe(1);
    expect(received).toEqual([{ event: 'media', sequenceNumber: 2, payload: 'AAA' }]);
  });
});

function mediaSocket(
  socket: WebSocket,
  options: { clock?: ManualClock; closeTimeoutMs?: number; maxBufferedAudioFrames?: number } = {},
) {
  const counters = zeroMediaSocketCounters();
  const received: TestMessage[] = [];
  const closes: number[] = [];
  const media = new MediaSocket(socket, options, {
    startSequenceNumber: 1,
    counters,
    parse: parseTestMessage,
    sequenceNumberOf,
    onMessage: (message) => received.push(message),
    onClose: (code) => closes.push(code),
  });
  return { media, counters, received, closes };
}

function audio(byte: number): TransportEvent {
  return { type: 'audio', audio: new Uint8Array([byte]) };
}

describe('MediaSocket', () => {
  it('closes with the peer’s handshake, once: a later close keeps the first code and reason', async () => {
    const { client, socket } = await socketPair();
    const { media } = mediaSocket(socket);
    const peerClosed = once(client, 'close') as Promise<[number, Buffer]>;
    media.stopped('caller hung up');
    const hangingUp = media.hangUp();
    await hangingUp;
    const [code, reason] = await peerClosed;
    expect([code, reason.toString()]).toEqual([1000, 'stream stopped']);
    expect(socket.readyState).toBe(WebSocket.CLOSED);
    await expect(media.close(1000, 'again')).resolves.toBeUndefined();
  });

  it('drops a peer that never answers the closing handshake once the close timeout passes', async () => {
    const { tcp, socket, received } = await rawPeer();
    const clock = new ManualClock();
    const { media } = mediaSocket(socket, { clock, closeTimeoutMs: 500 });
    let closed = false;
    const closing = media.hangUp().then(() => {
      closed = true;
    });
    // Wait until our close frame (opcode 0x8) reached the peer, which does not answer it.
    await expect.poll(() => Buffer.concat(received).includes(Buffer.from([0x88]))).toBe(true);
    await clock.advance(499);
    expect(closed).toBe(false);
    expect(socket.readyState).toBe(WebSocket.CLOSING);
    const tcpClosed = once(tcp, 'close');
    await clock.advance(1);
    await closing;
    await tcpClosed;
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('holds events until the listener registers, keeping only the newest audio beyond the cap', async () => {
    const { socket } = await socketPair();
    const { media, counters } = mediaSocket(socket, { maxBufferedAudioFrames: 2 });
    media.report(audio(1));
    media.report({ type: 'dtmf', digit: '5' });
    media.report(audio(2));
    media.report(audio(3));
    const events: TransportEvent[] = [];
    media.setListener((event) => events.push(event));
    expect(events).toEqual([{ type: 'dtmf', digit: '5' }, audio(2), audio(3)]);
    expect(counters.audioFramesDroppedBeforeListener).toBe(1);
    media.report(audio(4));
    expect(events.at(-1)).toEqual(audio(4));
  });

  it('reports nothing after a hangup, nor after we hang up', async () => {
    const reported = await socketPair();
    const first = mediaSocket(reported.socket);
    const events: TransportEvent[] = [];
    first.media.setListener((event) => events.push(event));
    first.media.report({ type: 'hangup', reason: 'caller hung up' });
    first.media.report(audio(1));
    first.media.report({ type: 'hangup', reason: 'connection_lost' });
    expect(events).toEqual([{ type: 'hangup', reason: 'caller hung up' }]);
    expect(first.media.ended).toBe(true);

    const ours = await socketPair();
    const second = mediaSocket(ours.socket);
    const later: TransportEvent[] = [];
    second.media.setListener((event) => later.push(event));
    const hangingUp = second.media.hangUp();
    second.media.report(audio(1));
    await hangingUp;
    await expect.poll(() => second.closes.length).toBe(1);
    expect(later).toEqual([]);
  });

  it('counts malformed frames and sequence gaps, passing well-formed messages on until the call ends', async () => {
    const { client, socket } = await socketPair();
    const { media, counters, received } = mediaSocket(socket);
    client.send('not json');
    client.send(Buffer.from([1, 2, 3]));
    client.send(JSON.stringify({ event: 'media', seq: 2, payload: 'a' }));
    client.send(JSON.stringify({ event: 'media', seq: 4, payload: 'b' }));
    client.send(JSON.stringify({ event: 'media', seq: 5, payload: 'c' }));
    await expect.poll(() => received.length).toBe(3);
    expect(received.map((message) => (message.event === 'media' ? message.payload : null))).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(counters).toMatchObject({ malformedMessages: 2, sequenceGaps: 1 });

    media.report({ type: 'hangup', reason: 'caller hung up' });
    client.send(JSON.stringify({ event: 'media', seq: 6, payload: 'd' }));
    client.send(JSON.stringify({ event: 'media', seq: 8, payload: 'e' }));
    await expect.poll(() => counters.ignoredMessages).toBe(2);
    expect(received).toHaveLength(3);
    // Late frames still show a lossy stream in the stats.
    expect(counters.sequenceGaps).toBe(2);
  });

  it('sends only while open, counting the sends after close, and passes the close code on', async () => {
    const { client, socket } = await socketPair();
    const { media, counters, closes } = mediaSocket(socket);
    const got = once(client, 'message') as Promise<[Buffer]>;
    expect(media.send('{"event":"mark"}')).toBe(true);
    expect((await got)[0].toString()).toBe('{"event":"mark"}');
    client.close(1001);
    await expect.poll(() => closes).toEqual([1001]);
    expect(media.isOpen()).toBe(false);
    expect(media.send('{"event":"mark"}')).toBe(false);
    expect(counters.sendsAfterClose).toBe(1);
  });
});
