// Supervisor listen across processes, against the Redis at 127.0.0.1:6379: process A holds the
// listeners' WebSockets, process B carries the call. Each has its own Redis clients, command bus and
// audio relay, as two `parley serve` processes with REDIS_URL would.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisCallCommandBus } from './redis-bus.js';
import { RedisCallAudioRelay } from './redis-audio-relay.js';
import { CallListeners } from './call-listeners.js';
import { streamCallAudio } from './call-audio-stream.js';
import { FakeListenerSocket, FakeTappedSession } from './call-listen-test-kit.js';
import type { CallAudioMessage } from './call-audio-relay.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });
const RUNTIME = 'runtime-b';

let closers: (() => Promise<unknown>)[] = [];
let channelPrefix: string;

async function processParts() {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const commands = await RedisCallCommandBus.connect({ redis, logger, channelPrefix });
  const audio = await RedisCallAudioRelay.connect({ redis, logger, channelPrefix });
  closers.push(async () => {
    await commands.close();
    await audio.close();
    await redis.quit();
  });
  return { commands, audio };
}

const waitUntil = (check: () => void) => vi.waitFor(check, { timeout: 5_000, interval: 5 });

beforeEach(() => {
  channelPrefix = `parley-test-${randomUUID()}`;
});
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

describe('RedisCallAudioRelay', () => {
  it('carries audio bytes untouched and control messages from one process to another', async () => {
    const a = await processParts();
    const b = await processParts();
    const callId = randomUUID();
    const heard: CallAudioMessage[] = [];
    await a.audio.subscribe(callId, (message) => heard.push(message));
    const pcm = Buffer.from(new Int16Array([1, -1, 32767, -32768, 0, 258]).buffer);
    b.audio.publish(callId, { type: 'start', sampleRateHz: 8000 });
    b.audio.publish(callId, { type: 'audio', pcm });
    b.audio.publish(callId, { type: 'end', reason: 'caller_hangup' });
    // Another call's audio does not reach this call's subscriber.
    b.audio.publish(randomUUID(), { type: 'end', reason: 'other' });
    await waitUntil(() => expect(heard).toHaveLength(3));
    expect(heard[0]).toEqual({ type: 'start', sampleRateHz: 8000 });
    expect(heard[1]!.type === 'audio' && Buffer.compare(heard[1]!.pcm, pcm)).toBe(0);
    expect(heard[2]).toEqual({ type: 'end', reason: 'caller_hangup' });
  });
});

describe('listening to a call carried by another process', () => {
  async function world() {
    const api = await processParts();
    const runtime = await processParts();
    const session = new FakeTappedSession();
    const callId = randomUUID();
    const listeners = new CallListeners({ relay: runtime.audio, logger });
    // Runtime B's side of the bus, as VoiceRuntime dispatches it.
    await runtime.commands.listen(RUNTIME, (command) => {
      if (command.type === 'listen') listeners.listen(command.callId, command.listenerId, session);
      if (command.type === 'listen_stop') listeners.stop(command.callId, command.listenerId);
    });
    const listen = () => {
      const socket = new FakeListenerSocket();
      void streamCallAudio(
        socket.asWebSocket(),
        { callId, runtimeId: RUNTIME },
        { commands: api.commands, audio: api.audio, logger },
      );
      return socket;
    };
    return { session, listeners, listen };
  }

  it('streams the call’s audio to every listener over one tap, until the call ends', async () => {
    const { session, listen, listeners } = await world();
    const first = listen();
    const second = listen();
    await waitUntil(() => expect([first.texts.length, second.texts.length]).toEqual([1, 1]));
    expect(first.texts[0]).toMatchObject({
      type: 'start',
      sampleRateHz: 8000,
      channels: 2,
      encoding: 'pcm16le',
    });
    expect(session.taps).toBe(1);
    expect(listeners.tappedCalls).toBe(1);

    const chunk = new Int16Array([100, -200, 300, -400]);
    session.chunk(chunk);
    await waitUntil(() => expect([first.binaries.length, second.binaries.length]).toEqual([1, 1]));
    expect([...new Int16Array(new Uint8Array(first.binaries[0]!).buffer)]).toEqual([100, -200, 300, -400]);

    session.end('caller_hangup');
    await waitUntil(() => expect(first.closed).not.toBeNull());
    await waitUntil(() => expect(second.closed).not.toBeNull());
    for (const socket of [first, second]) {
      expect(socket.texts.at(-1)).toEqual({ type: 'end', reason: 'caller_hangup' });
      expect(socket.closed).toEqual({ code: 1000, reason: 'call ended' });
    }
    expect(listeners.tappedCalls).toBe(0);
  });

  it('untaps the call once its last listener has gone, not before', async () => {
    const { session, listen, listeners } = await world();
    const first = listen();
    const second = listen();
    await waitUntil(() => expect([first.texts.length, second.texts.length]).toEqual([1, 1]));
    const callId = String(first.texts[0]!['callId']);
    expect(listeners.listenersOf(callId)).toBe(2);
    first.disconnect();
    await waitUntil(() => expect(listeners.listenersOf(callId)).toBe(1));
    // The remaining listener still hears the call.
    session.chunk(new Int16Array([1, 2]));
    await waitUntil(() => expect(second.binaries).toHaveLength(1));
    expect(session.tapped).toBe(true);
    second.disconnect();
    await waitUntil(() => expect(session.tapped).toBe(false));
    expect(session.stops).toBe(1);
  });
});
