// Plivo audio streaming (bidirectional `<Stream keepCallAlive="true">`) as a CallTransport: the server
// side of the WebSocket Plivo opens to us. `accept` waits for the stream's `start`; then inbound JSON
// frames become TransportEvents and the session's audio, marks and clears become `playAudio`,
// `checkpoint` and `clearAudio`. Vobiz speaks the same protocol; vobiz/media.ts reuses this class with
// its own profile (formats it accepts, big-endian L16).
//
// Marks: a `checkpoint` is answered with `playedStream` once the audio before it has played — but,
// unlike Twilio, never for audio a `clearAudio` discarded. The session needs those marks too (they end
// an utterance's playback), so the checkpoints pending at a clear are reported as marks when the
// carrier acknowledges it with `clearedAudio`.
//
// Ending: neither carrier sends a `stop` on the socket; the call ending closes it (the authoritative
// end of call is the hangup callback). Hanging up here closes the socket; with `keepCallAlive` and
// nothing after `<Stream>` in the answer document the carrier then ends the call. A REST hang-up
// belongs to call-control.
import { systemClock } from '@parley/voice';
import type {
  AudioFormat,
  CallTransport,
  Clock,
  TimerHandle,
  TransportCapabilities,
  TransportEvent,
} from '@parley/voice';
import type { RawData, WebSocket } from 'ws';
import type { MediaStreamStart } from '../carrier.js';
import {
  plivoAudioFormat,
  plivoCheckpointMessage,
  plivoClearAudioMessage,
  parsePlivoMessage,
  plivoPlayAudioMessage,
  plivoWireFormat,
} from './messages.js';
import type { PlivoStreamStart, PlivoWireFormat } from './messages.js';

/** What differs between Plivo and its clones on the media socket. */
export interface PlivoStreamProfile {
  carrier: 'plivo' | 'vobiz';
  /** For error messages. */
  label: string;
  /** Media formats we can serve (from `start.mediaFormat`); others are refused. */
  acceptsFormat(format: AudioFormat): boolean;
  /** Inbound L16 payloads are big-endian and are swapped to the little-endian PCM16 the core uses. */
  inboundPcm16BigEndian: boolean;
  /** Why a format is refused, naming the answer document setting that fixes it. */
  formatHint: string;
}

/**
 * Plivo: μ-law 8 kHz only. Plivo also offers L16, but its byte order on the socket is not documented
 * (Vobiz's clone sends it big-endian), so rather than guess we ask for μ-law in the answer document.
 */
export const PLIVO_STREAM_PROFILE: PlivoStreamProfile = {
  carrier: 'plivo',
  label: 'Plivo',
  acceptsFormat: (format) => format.encoding === 'mulaw' && format.sampleRateHz === 8000,
  inboundPcm16BigEndian: false,
  formatHint: 'set contentType="audio/x-mulaw;rate=8000" on <Stream>',
};

export type PlivoMediaErrorCode =
  | 'malformed_message'
  | 'unexpected_event'
  | 'unsupported_media_format'
  | 'start_timeout'
  | 'closed_before_start';

/** Why a media stream could not be accepted. The socket has already been closed. */
export class PlivoMediaError extends Error {
  override readonly name = 'PlivoMediaError';

  constructor(
    readonly carrier: 'plivo' | 'vobiz',
    readonly code: PlivoMediaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PlivoAcceptOptions {
  /** How long to wait for `start` once the socket is open; the carrier sends it at once. */
  startTimeoutMs: number;
  clock?: Clock;
  /** How long `hangUp` waits for the closing handshake before dropping the connection. */
  closeTimeoutMs?: number;
  /** Caller audio frames kept while no listener is registered yet; older ones are dropped. */
  maxBufferedAudioFrames?: number;
}

export interface PlivoAccepted {
  transport: PlivoMediaTransport;
  start: MediaStreamStart;
}

export interface PlivoMediaStats {
  mediaFramesReceived: number;
  audioBytesReceived: number;
  audioBytesSent: number;
  /** Frames that were not JSON, lacked required fields or had an odd-length L16 payload; ignored. */
  malformedMessages: number;
  /** Well-formed frames we do not act on (unknown events, other tracks, unknown checkpoints, late frames). */
  ignoredMessages: number;
  /** Messages whose sequenceNumber did not follow the previous one. */
  sequenceGaps: number;
  audioFramesDroppedBeforeListener: number;
  sendsAfterClose: number;
  /** Checkpoints reported as marks because a clearAudio discarded their audio. */
  checkpointsCleared: number;
}

const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
/** The peer closed without giving a code; still an orderly close, not a dropped connection. */
const CLOSE_NO_STATUS = 1005;
const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
/** 10 s of 20 ms frames: enough for a slow database lookup between `start` and the session. */
const DEFAULT_MAX_BUFFERED_AUDIO_FRAMES = 500;

/** Session hang-up reason for a caller who hung up (the session maps it to `caller_hangup`). */
const CALLER_HUNG_UP = 'caller hung up';
/** The socket dropped without a clean close: network failure or the carrier losing the stream. */
const CONNECTION_LOST = 'connection_lost';

function rawText(data: RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/**
 * Waits for the stream's `start` on a freshly accepted socket, for the carrier `profile` describes.
 * Rejects with a PlivoMediaError (and closes the socket) on a malformed message, another event before
 * `start`, a media format the profile refuses, a timeout, or the socket closing first.
 */
export function acceptPlivoStream(
  socket: WebSocket,
  options: PlivoAcceptOptions,
  profile: PlivoStreamProfile,
): Promise<PlivoAccepted> {
  const clock = options.clock ?? systemClock;
  const { label, carrier } = profile;
  return new Promise<PlivoAccepted>((resolve, reject) => {
    let timer: TimerHandle | null = null;

    const cleanUp = (): void => {
      timer?.cancel();
      socket.off('message', onMessage);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const fail = (code: PlivoMediaErrorCode, message: string): void => {
      cleanUp();
      // A stream we cannot serve is closed here so callers never leak a half-open socket.
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
        socket.close(CLOSE_POLICY_VIOLATION, code);
      }
      reject(new PlivoMediaError(carrier, code, message));
    };
    const onMessage = (data: RawData, isBinary: boolean): void => {
      const text = rawText(data, isBinary);
      if (text === null) {
        fail('malformed_message', `${label} media stream: binary frame before start`);
        return;
      }
      const parsed = parsePlivoMessage(text);
      if (!parsed.ok) {
        fail('malformed_message', `${label} media stream: ${parsed.reason} before start`);
        return;
      }
      const message = parsed.message;
      if (message.event !== 'start') {
        const name = message.event === 'unknown' ? message.name : message.event;
        fail('unexpected_event', `${label} media stream: expected start, got ${name}`);
        return;
      }
      const { encoding, sampleRate } = message.start.mediaFormat;
      const format = plivoAudioFormat(message.start.mediaFormat);
      if (!format || !profile.acceptsFormat(format)) {
        fail(
          'unsupported_media_format',
          `${label} media stream: unsupported media format ${encoding} ${sampleRate} Hz (${profile.formatHint})`,
        );
        return;
      }
      cleanUp();
      const transport = new PlivoMediaTransport(socket, message.sequenceNumber, message.start, format, {
        clock,
        profile,
        closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
        maxBufferedAudioFrames: options.maxBufferedAudioFrames ?? DEFAULT_MAX_BUFFERED_AUDIO_FRAMES,
      });
      resolve({
        transport,
        start: {
          carrierCallId: message.start.callId,
          streamId: message.start.streamId,
          customParameters: message.start.extraHeaders,
          inputFormat: format,
          outputFormat: format,
        },
      });
    };
    const onClose = (): void => {
      cleanUp();
      reject(
        new PlivoMediaError(carrier, 'closed_before_start', `${label} media stream closed before start`),
      );
    };
    // Without a listener an 'error' event would crash the process; the close that follows rejects.
    const onError = (): void => {};

    if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) {
      reject(
        new PlivoMediaError(carrier, 'closed_before_start', `${label} media stream closed before start`),
      );
      return;
    }
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
    timer = clock.setTimer(options.startTimeoutMs, () =>
      fail('start_timeout', `${label} media stream: no start within ${options.startTimeoutMs} ms`),
    );
  });
}

interface TransportOptions {
  clock: Clock;
  profile: PlivoStreamProfile;
  closeTimeoutMs: number;
  maxBufferedAudioFrames: number;
}

export class PlivoMediaTransport implements CallTransport {
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  /** DTMF and transfer go through call-control's REST API, not the media socket. */
  readonly capabilities: TransportCapabilities = { marks: true, sendDtmf: false, transfer: false };
  readonly carrier: 'plivo' | 'vobiz';
  readonly streamId: string;
  readonly callId: string;

  private readonly wireFormat: PlivoWireFormat;
  private listener: ((event: TransportEvent) => void) | null = null;
  private pending: TransportEvent[] = [];
  private pendingAudioFrames = 0;
  private ended = false;
  private lastSequenceNumber: number | null;
  private closing: Promise<void> | null = null;
  /** Checkpoints sent and not yet played or cleared, oldest first. */
  private checkpoints: string[] = [];
  /** Checkpoints each unacknowledged clearAudio discarded, oldest clear first. */
  private readonly clearedBatches: string[][] = [];
  private readonly counters: PlivoMediaStats = {
    mediaFramesReceived: 0,
    audioBytesReceived: 0,
    audioBytesSent: 0,
    malformedMessages: 0,
    ignoredMessages: 0,
    sequenceGaps: 0,
    audioFramesDroppedBeforeListener: 0,
    sendsAfterClose: 0,
    checkpointsCleared: 0,
  };

  /** Plivo's media socket; see acceptPlivoStream for what is refused. */
  static accept(socket: WebSocket, options: PlivoAcceptOptions): Promise<PlivoAccepted> {
    return acceptPlivoStream(socket, options, PLIVO_STREAM_PROFILE);
  }

  /** @internal Use `accept` (or VobizMediaTransport.accept). */
  constructor(
    private readonly socket: WebSocket,
    startSequenceNumber: number | null,
    start: PlivoStreamStart,
    format: AudioFormat,
    private readonly options: TransportOptions,
  ) {
    this.carrier = options.profile.carrier;
    this.streamId = start.streamId;
    this.callId = start.callId;
    this.inputFormat = format;
    this.outputFormat = format;
    this.wireFormat = plivoWireFormat(format);
    this.lastSequenceNumber = startSequenceNumber;
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', (code) => {
      const clean = code === CLOSE_NORMAL || code === CLOSE_GOING_AWAY || code === CLOSE_NO_STATUS;
      this.report({ type: 'hangup', reason: clean ? CALLER_HUNG_UP : CONNECTION_LOST });
    });
    socket.on('error', () => {
      // The 'close' that follows reports the hang-up.
    });
  }

  /** Counters for logs and metrics (a copy). */
  get stats(): PlivoMediaStats {
    return { ...this.counters };
  }

  setListener(listener: (event: TransportEvent) => void): void {
    this.listener = listener;
    const pending = this.pending;
    this.pending = [];
    this.pendingAudioFrames = 0;
    for (const event of pending) listener(event);
  }

  sendAudio(audio: Uint8Array): void {
    if (audio.byteLength === 0) return;
    if (this.send(plivoPlayAudioMessage(this.wireFormat, audio)))
      this.counters.audioBytesSent += audio.byteLength;
  }

  sendMark(name: string): void {
    if (this.send(plivoCheckpointMessage(this.streamId, name))) this.checkpoints.push(name);
  }

  clear(): void {
    if (!this.send(plivoClearAudioMessage(this.streamId))) return;
    // Checkpoints sent after this clear belong to new audio and must not be released by its ack.
    this.clearedBatches.push(this.checkpoints);
    this.checkpoints = [];
  }

  /** Closes the media socket (see the file comment for what the carrier does next). Reports no hangup. */
  hangUp(_reason: string): Promise<void> {
    this.ended = true;
    this.closing ??= this.close(CLOSE_NORMAL, 'call ended');
    return this.closing;
  }

  private send(text: string): boolean {
    if (this.socket.readyState !== this.socket.OPEN) {
      this.counters.sendsAfterClose++;
      return false;
    }
    this.socket.send(text);
    return true;
  }

  private close(code: number, reason: string): Promise<void> {
    const socket = this.socket;
    if (socket.readyState === socket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // A peer that never answers the closing handshake is dropped rather than awaited for ws's 30 s.
      const timer = this.options.clock.setTimer(this.options.closeTimeoutMs, () => {
        socket.terminate();
        resolve();
      });
      socket.once('close', () => {
        timer.cancel();
        resolve();
      });
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
        socket.close(code, reason);
      }
    });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const text = rawText(data, isBinary);
    const parsed = text === null ? null : parsePlivoMessage(text);
    if (!parsed?.ok) {
      this.counters.malformedMessages++;
      return;
    }
    const message = parsed.message;
    if (message.event !== 'unknown') this.trackSequence(message.sequenceNumber);
    if (this.ended) {
      this.counters.ignoredMessages++;
      return;
    }
    switch (message.event) {
      case 'media':
        this.onMedia(message.track, message.payload);
        return;
      case 'playedStream':
        this.onPlayed(message.name);
        return;
      case 'clearedAudio':
        this.onCleared();
        return;
      case 'dtmf':
        this.report({ type: 'dtmf', digit: message.digit });
        return;
      case 'stop':
        this.report({ type: 'hangup', reason: CALLER_HUNG_UP });
        this.closing ??= this.close(CLOSE_NORMAL, 'stream stopped');
        return;
      case 'start':
      case 'unknown':
        this.counters.ignoredMessages++;
        return;
    }
  }

  private onMedia(track: string, payload: string): void {
    if (track !== 'inbound') {
      this.counters.ignoredMessages++;
      return;
    }
    const audio = Buffer.from(payload, 'base64');
    if (this.inputFormat.encoding === 'pcm16') {
      if (audio.byteLength % 2 !== 0) {
        this.counters.malformedMessages++;
        return;
      }
      // Network byte order on the wire (Vobiz); the core's PCM16 is little-endian.
      if (this.options.profile.inboundPcm16BigEndian) audio.swap16();
    }
    this.counters.mediaFramesReceived++;
    this.counters.audioBytesReceived += audio.byteLength;
    if (audio.byteLength > 0) this.report({ type: 'audio', audio });
  }

  private onPlayed(name: string): void {
    const index = this.checkpoints.indexOf(name);
    if (index < 0) {
      // Unknown, or already reported because a clear discarded it.
      this.counters.ignoredMessages++;
      return;
    }
    // Playback is in order: checkpoints before this one have played too, even if their ack was lost.
    for (const played of this.checkpoints.splice(0, index + 1)) this.report({ type: 'mark', name: played });
  }

  private onCleared(): void {
    const batch = this.clearedBatches.shift();
    if (!batch) {
      this.counters.ignoredMessages++;
      return;
    }
    this.counters.checkpointsCleared += batch.length;
    for (const name of batch) this.report({ type: 'mark', name });
  }

  private trackSequence(sequenceNumber: number | null): void {
    if (sequenceNumber === null) return;
    if (this.lastSequenceNumber !== null && sequenceNumber !== this.lastSequenceNumber + 1) {
      this.counters.sequenceGaps++;
    }
    this.lastSequenceNumber = sequenceNumber;
  }

  private report(event: TransportEvent): void {
    if (this.ended) return;
    if (event.type === 'hangup') this.ended = true;
    if (this.listener) {
      this.listener(event);
      return;
    }
    this.pending.push(event);
    if (event.type !== 'audio') return;
    this.pendingAudioFrames++;
    if (this.pendingAudioFrames > this.options.maxBufferedAudioFrames) {
      const oldest = this.pending.findIndex((pending) => pending.type === 'audio');
      this.pending.splice(oldest, 1);
      this.pendingAudioFrames--;
      this.counters.audioFramesDroppedBeforeListener++;
    }
  }
}
