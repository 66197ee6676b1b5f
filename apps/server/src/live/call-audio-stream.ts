// The API process's side of supervisor listen: one authorised WebSocket client listening to one live
// call. It subscribes to the call's audio, asks the runtime carrying the call to tap it (renewing the
// lease while the client stays), and forwards the stream: a JSON `start`, binary chunks of interleaved
// stereo PCM16, a JSON `end` and a normal close when the call ends.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { describeError } from '../logger.js';
import type { CallCommandBus, Unsubscribe } from './call-command-bus.js';
import { DEFAULT_TAP_CHUNK_MS } from '@parley/voice';
import { NOT_LIVE_REASON, type CallAudioMessage, type CallAudioRelay } from './call-audio-relay.js';
import { LISTEN_RENEW_EVERY_MS } from './call-listeners.js';

/** What a process needs to serve listeners: the way to the runtimes, and the audio coming back. */
export interface LiveAudioEnv {
  commands: CallCommandBus;
  audio: CallAudioRelay;
}

export interface CallAudioStreamOptions extends LiveAudioEnv {
  logger: FastifyBaseLogger;
  renewEveryMs?: number;
  /** How long the runtime has to answer the first `listen` before the client is told it did not. */
  startTimeoutMs?: number;
  /** Bytes waiting to go to a slow client past which chunks are dropped (default 2 s of audio). */
  maxBufferedBytes?: number;
  /**
   * Whether the call is still live on the runtime it was on (its record). Asked once the stream has gone
   * silent for `silenceMs`: a runtime that died, or an `end` lost on the relay (delivered at most once),
   * would otherwise leave the socket open and silent for good. Without it, silence is not watched.
   */
  stillLive?: () => Promise<boolean>;
  /** Silence after which `stillLive` is asked (default 3 s; chunks come every 100 ms). */
  silenceMs?: number;
}

/** Close codes a listener may see besides 1000 (the call ended) and 1001 (the server is stopping). */
export const LISTEN_CLOSE = {
  /** The call ended, or moved, between the check and the tap, or while the stream was silent. */
  notLive: 4409,
  /** The runtime carrying the call did not answer, or the relay failed. */
  unavailable: 1011,
} as const;

/** Long enough for a call still being set up (pre-call context, models loading) to start. */
const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_SILENCE_MS = 3_000;

/** Serves `socket` until the call ends or the client goes; never throws. */
export async function streamCallAudio(
  socket: WebSocket,
  call: { callId: string; runtimeId: string },
  options: CallAudioStreamOptions,
): Promise<void> {
  const { callId, runtimeId } = call;
  const log = options.logger.child({ callId });
  const listenerId = randomUUID();
  // Two seconds of stereo PCM16 at the call's rate, once `start` has said it.
  let maxBuffered = options.maxBufferedBytes ?? 2 * 4 * 8000;
  let unsubscribe: Unsubscribe | null = null;
  let renew: ReturnType<typeof setInterval> | null = null;
  let startTimer: ReturnType<typeof setTimeout> | null = null;
  let watchdog: ReturnType<typeof setInterval> | null = null;
  let heardAt = performance.now();
  let started = false;
  let done = false;
  let dropped = 0;

  const finish = (code: number, reason: string, last?: unknown) => {
    if (done) return;
    done = true;
    if (last !== undefined && socket.readyState === socket.OPEN) socket.send(JSON.stringify(last));
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING)
      socket.close(code, reason);
    void cleanUp();
  };
  const cleanUp = async () => {
    done = true;
    if (renew) clearInterval(renew);
    if (startTimer) clearTimeout(startTimer);
    if (watchdog) clearInterval(watchdog);
    await unsubscribe?.().catch(() => {});
    unsubscribe = null;
    await options.commands.send(runtimeId, { type: 'listen_stop', callId, listenerId }).catch(() => {});
    if (dropped > 0) log.info({ dropped }, 'listener was too slow: audio chunks dropped');
  };
  // Silence past silenceMs: the record says whether the call is over (then the not-live close) or
  // still going (a stall: keep waiting, and ask again after as much silence again).
  const watchSilence = (stillLive: () => Promise<boolean>) => {
    const silenceMs = options.silenceMs ?? DEFAULT_SILENCE_MS;
    let checking = false;
    watchdog = setInterval(
      () => {
        if (done || checking || performance.now() - heardAt < silenceMs) return;
        checking = true;
        stillLive()
          .then(
            (live) => {
              if (!live) finish(LISTEN_CLOSE.notLive, NOT_LIVE_REASON);
              heardAt = performance.now();
            },
            (error: unknown) => log.warn({ error: describeError(error) }, 'could not check the call is live'),
          )
          .finally(() => (checking = false));
      },
      Math.max(1, Math.floor(silenceMs / 3)),
    );
    watchdog.unref();
  };
  const onMessage = (message: CallAudioMessage) => {
    if (done) return;
    heardAt = performance.now();
    switch (message.type) {
      case 'start':
        // Every new listener of the call makes the runtime say `start` again: the first one counts.
        if (started) return;
        started = true;
        if (startTimer) clearTimeout(startTimer);
        if (options.stillLive) watchSilence(options.stillLive);
        maxBuffered = options.maxBufferedBytes ?? 2 * 4 * message.sampleRateHz;
        socket.send(
          JSON.stringify({
            type: 'start',
            callId,
            sampleRateHz: message.sampleRateHz,
            encoding: 'pcm16le',
            channels: 2,
            channelLayout: ['caller', 'agent'],
            chunkMs: DEFAULT_TAP_CHUNK_MS,
          }),
        );
        return;
      case 'audio':
        if (!started) return;
        // A client that cannot keep up skips ahead rather than holding ever more of the call in memory.
        if (socket.bufferedAmount > maxBuffered) {
          dropped += 1;
          return;
        }
        socket.send(message.pcm, { binary: true });
        return;
      case 'end':
        // Not live: the runtime does not carry the call (it failed to start, or it ended and this is
        // the answer to a renewal because the call's own `end` was lost).
        if (message.reason === NOT_LIVE_REASON) {
          finish(LISTEN_CLOSE.notLive, NOT_LIVE_REASON);
        } else {
          finish(1000, 'call ended', { type: 'end', reason: message.reason });
        }
        return;
    }
  };

  socket.on('close', () => {
    if (!done) void cleanUp();
  });
  // Nothing the client sends means anything; a listener only listens.
  socket.on('message', () => {});
  try {
    unsubscribe = await options.audio.subscribe(callId, onMessage);
    if (done) {
      await unsubscribe();
      return;
    }
    const listen = () => options.commands.send(runtimeId, { type: 'listen', callId, listenerId });
    await listen();
    // The client left meanwhile: cleanUp has said so to the runtime; nothing is left to renew.
    if (done) return;
    renew = setInterval(() => {
      listen().catch((error: unknown) =>
        log.warn({ error: describeError(error) }, 'listen lease not renewed'),
      );
    }, options.renewEveryMs ?? LISTEN_RENEW_EVERY_MS);
    renew.unref();
    startTimer = setTimeout(
      () => finish(LISTEN_CLOSE.unavailable, 'the runtime carrying the call did not answer'),
      options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    );
    startTimer.unref();
  } catch (error) {
    log.warn({ error: describeError(error) }, 'could not start listening to the call');
    finish(LISTEN_CLOSE.unavailable, 'live audio is unavailable');
  }
}
