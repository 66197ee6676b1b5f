// The runtime's listeners of a call and one listener's stream, in one process: leases, a call still
// being set up, and a client too slow to keep up.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import {
  InProcessCallAudioRelay,
  NOT_LIVE_REASON,
  type CallAudioMessage,
  type CallAudioRelay,
} from './call-audio-relay.js';
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
    listeners.callSettingUp(callId);
    listeners.listen(callId, randomUUID(), undefined);
    expect(heard).toEqual([]);
    const session = new FakeTappedSession();
    listeners.callStarted(callId, session);
    expect(session.tapped).toBe(true);
    expect(heard).toEqual([{ type: 'start', sampleRateHz: 8000 }]);
  });

  it('a call that failed to start tells its waiting listeners it is not live', () => {
    const { listeners, callId, heard } = runtime();
    listeners.callSettingUp(callId);
    listeners.listen(callId, randomUUID(), undefined);
    listeners.callNotStarted(callId);
    expect(heard).toEqual([{ type: 'end', reason: NOT_LIVE_REASON }]);
  });

  it('a listen for a call this runtime neither sets up nor carries is told at once it is not live', () => {
    const { listeners, callId, heard } = runtime();
    const listener = randomUUID();
    listeners.listen(callId, listener, undefined);
    expect(heard).toEqual([{ type: 'end', reason: NOT_LIVE_REASON }]);
    // A renewal after the call ended here (its `end` lost on the way) gets the same answer again.
    listeners.listen(callId, listener, undefined);
    expect(heard).toEqual([
      { type: 'end', reason: NOT_LIVE_REASON },
      { type: 'end', reason: NOT_LIVE_REASON },
    ]);
    // Nothing was left waiting: a session of that id starting later is not tapped for it.
    const session = new FakeTappedSession();
    listeners.callStarted(callId, session);
    expect(session.tapped).toBe(false);
  });

  it('a call that ended here answers a later renewal with `end`', () => {
    const { listeners, callId, heard } = runtime();
    const listener = randomUUID();
    listeners.callSettingUp(callId);
    const session = new FakeTappedSession();
    listeners.callStarted(callId, session);
    listeners.listen(callId, listener, session);
    session.end('caller_hangup');
    listeners.listen(callId, listener, undefined);
    expect(heard).toEqual([
      { type: 'start', sampleRateHz: 8000 },
      { type: 'end', reason: 'caller_hangup' },
      { type: 'end', reason: NOT_LIVE_REASON },
    ]);
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

  it('closes with 4409 when the runtime answers a renewal that the call is over (its `end` was lost)', async () => {
    const commands = new InProcessCallCommandBus(logger);
    const relay = new InProcessCallAudioRelay(logger);
    // Pub/sub delivers at most once: the call's own `end` is lost on the way.
    const lossy: CallAudioRelay = {
      publish: (id, message) => {
        if (message.type !== 'end' || message.reason === NOT_LIVE_REASON) relay.publish(id, message);
      },
      subscribe: (id, handler) => relay.subscribe(id, handler),
      close: () => relay.close(),
    };
    const listeners = new CallListeners({ relay: lossy, logger });
    const session = new FakeTappedSession();
    let carried = true;
    await commands.listen('rt', (command) => {
      if (command.type === 'listen')
        listeners.listen(command.callId, command.listenerId, carried ? session : undefined);
    });
    const socket = new FakeListenerSocket();
    void streamCallAudio(
      socket.asWebSocket(),
      { callId: randomUUID(), runtimeId: 'rt' },
      { commands, audio: relay, logger, renewEveryMs: 20 },
    );
    await vi.waitFor(() => expect(socket.texts).toMatchObject([{ type: 'start' }]));
    // The call ends; the runtime no longer carries it.
    session.end('caller_hangup');
    carried = false;
    await vi.waitFor(() =>
      expect(socket.closed).toEqual({ code: LISTEN_CLOSE.notLive, reason: NOT_LIVE_REASON }),
    );
  });

  describe('when the audio stops', () => {
    async function silentStream(live: boolean) {
      const commands = new InProcessCallCommandBus(logger);
      const relay = new InProcessCallAudioRelay(logger);
      const listeners = new CallListeners({ relay, logger });
      const session = new FakeTappedSession();
      // The runtime taps the call, then dies: no more chunks, no `end`, no answer to renewals.
      let alive = true;
      await commands.listen('rt', (command) => {
        if (alive && command.type === 'listen') listeners.listen(command.callId, command.listenerId, session);
      });
      let checks = 0;
      const socket = new FakeListenerSocket();
      void streamCallAudio(
        socket.asWebSocket(),
        { callId: randomUUID(), runtimeId: 'rt' },
        {
          commands,
          audio: relay,
          logger,
          silenceMs: 60,
          stillLive: () => {
            checks += 1;
            return Promise.resolve(live);
          },
        },
      );
      await vi.waitFor(() => expect(socket.texts).toMatchObject([{ type: 'start' }]));
      session.chunk(new Int16Array([1, 1]));
      alive = false;
      return { socket, checks: () => checks };
    }

    it('closes with 4409 once the call is over', async () => {
      const { socket } = await silentStream(false);
      await vi.waitFor(() =>
        expect(socket.closed).toEqual({ code: LISTEN_CLOSE.notLive, reason: NOT_LIVE_REASON }),
      );
      expect(socket.binaries).toHaveLength(1);
    });

    it('stays open while the call is still live (a stall), asking again', async () => {
      const { socket, checks } = await silentStream(true);
      await vi.waitFor(() => expect(checks()).toBeGreaterThanOrEqual(2));
      expect(socket.closed).toBeNull();
      socket.disconnect();
    });
  });
});
