// The runtime's listeners of a call and one listener's stream, in one process: leases, a call still
// being set up, and a client too slow to keep up.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { InProcessCallAudioRelay, NOT_LIVE_REASON, type CallAudioMessage } from './call-audio-relay.js';
import { CallListeners } from './call-listeners.js';
import { InProcessCallCommandBus } from './in-process-bus.js';
import { LISTEN_CLOSE, streamCallAudio } from './call-audio-stream.js';
import { FakeListenerSocket, FakeTappedSession } from './call-listen-test-kit.js';

const logger = pino({ level: 'silent' });

function runtime(leaseMs = 1_000) {
  let nowMs = 0;
  const relay = new InProcessCallAudioRelay(logger);
  const listeners = new CallListeners({ relay, logger, leaseMs, now: () => nowMs });
  const callId = randomUUID();
  const heard: CallAudioMessage[] = [];
  void relay.subscribe(callId, (message) => heard.push(message));
  return { relay, listeners, callId, heard, advance: (ms: number) => (nowMs += ms) };
}

describe('CallListeners', () => {
  it('taps a call only while a lease is held, and untaps it when nobody renews', () => {
    const { listeners, callId, heard, advance } = runtime();
    const session = new FakeTappedSession();
    expect(session.tapped).toBe(false);
    const listener = randomUUID();
    listeners.listen(callId, listener, session);
    expect(heard).toEqual([{ type: 'start', sampleRateHz: 8000 }]);
    session.chunk(new Int16Array(2));
    advance(600);
    listeners.listen(callId, listener, session); // renewed
    advance(600);
    session.chunk(new Int16Array(2));
    expect(heard.filter((m) => m.type === 'audio')).toHaveLength(2);
    expect(session.tapped).toBe(true);
    // The listener's process died: no renewal, no stop. The tap goes at the first chunk past the lease.
    advance(1_000);
    session.chunk(new Int16Array(2));
    expect(session.tapped).toBe(false);
    expect(heard.filter((m) => m.type === 'audio')).toHaveLength(2);
    expect(listeners.tappedCalls).toBe(0);
  });

  it('a renewal is not a new listener: `start` is sent once per listener', () => {
    const { listeners, callId, heard } = runtime();
    const session = new FakeTappedSession();
    const listener = randomUUID();
    listeners.listen(callId, listener, session);
    listeners.listen(callId, listener, session);
    listeners.listen(callId, randomUUID(), session);
    expect(heard.filter((m) => m.type === 'start')).toHaveLength(2);
    expect(session.taps).toBe(1);
  });

  it('a listener who asked while the call was being set up hears it once it starts', () => {
    const { listeners, callId, heard } = runtime();
    listeners.listen(callId, randomUUID(), undefined);
    expect(heard).toEqual([]);
    const session = new FakeTappedSession();
    listeners.callStarted(callId, session);
    expect(session.tapped).toBe(true);
    expect(heard).toEqual([{ type: 'start', sampleRateHz: 8000 }]);
  });

  it('a call that failed to start tells its waiting listeners it is not live', () => {
    const { listeners, callId, heard } = runtime();
    listeners.listen(callId, randomUUID(), undefined);
    listeners.callNotStarted(callId);
    expect(heard).toEqual([{ type: 'end', reason: NOT_LIVE_REASON }]);
  });
});

describe('streamCallAudio', () => {
  async function stream(options: { maxBufferedBytes?: number } = {}) {
    const commands = new InProcessCallCommandBus(logger);
    const relay = new InProcessCallAudioRelay(logger);
    const listeners = new CallListeners({ relay, logger });
    const session = new FakeTappedSession();
    await commands.listen('rt', (command) => {
      if (command.type === 'listen') listeners.listen(command.callId, command.listenerId, session);
      if (command.type === 'listen_stop') listeners.stop(command.callId, command.listenerId);
    });
    const socket = new FakeListenerSocket();
    const callId = randomUUID();
    void streamCallAudio(
      socket.asWebSocket(),
      { callId, runtimeId: 'rt' },
      { commands, audio: relay, logger, ...options },
    );
    await vi.waitFor(() => expect(socket.texts.length + (socket.closed ? 1 : 0)).toBeGreaterThan(0));
    return { socket, session };
  }

  it('drops chunks while the client has too much waiting, then goes on live', async () => {
    const { socket, session } = await stream({ maxBufferedBytes: 1_000 });
    session.chunk(new Int16Array([1, 1]));
    socket.bufferedAmount = 5_000;
    session.chunk(new Int16Array([2, 2]));
    session.chunk(new Int16Array([3, 3]));
    socket.bufferedAmount = 0;
    session.chunk(new Int16Array([4, 4]));
    expect(socket.binaries.map((b) => b.readInt16LE(0))).toEqual([1, 4]);
  });

  it('closes with 4409 when the call turns out not to be live', async () => {
    const commands = new InProcessCallCommandBus(logger);
    const relay = new InProcessCallAudioRelay(logger);
    const listeners = new CallListeners({ relay, logger });
    const callId = randomUUID();
    await commands.listen('rt', (command) => {
      if (command.type === 'listen') {
        listeners.listen(command.callId, command.listenerId, undefined);
        listeners.callNotStarted(command.callId);
      }
    });
    const socket = new FakeListenerSocket();
    void streamCallAudio(
      socket.asWebSocket(),
      { callId, runtimeId: 'rt' },
      { commands, audio: relay, logger },
    );
    await vi.waitFor(() =>
      expect(socket.closed).toEqual({ code: LISTEN_CLOSE.notLive, reason: NOT_LIVE_REASON }),
    );
    expect(socket.texts).toEqual([]);
  });

  it('closes with 1011 when no runtime answers', async () => {
    const commands = new InProcessCallCommandBus(logger);
    const relay = new InProcessCallAudioRelay(logger);
    const socket = new FakeListenerSocket();
    void streamCallAudio(
      socket.asWebSocket(),
      { callId: randomUUID(), runtimeId: 'gone' },
      { commands, audio: relay, logger, startTimeoutMs: 50 },
    );
    await vi.waitFor(() => expect(socket.closed?.code).toBe(LISTEN_CLOSE.unavailable));
  });
});
