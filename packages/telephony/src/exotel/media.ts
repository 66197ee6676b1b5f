// Exotel AgentStream (the bidirectional Voicebot applet, or the Connect Voice AI API) as a CallTransport:
// the server side of the WebSocket Exotel opens to us. `accept` waits for the stream's `start`, reads
// the audio format from its `media_format`, then inbound JSON frames become TransportEvents and the
// session's audio, marks and clears become Exotel messages.
//
// Outbound audio: Exotel plays chunks that are multiples of 320 bytes and at least 100 ms long; smaller
// or ragged chunks leave gaps. The session paces 20 ms frames, so they are gathered here into such
// chunks. A mark flushes what is gathered (padded with silence to a whole chunk) before it goes out, so
// the mark still follows the audio it marks; so does a pause in the audio (see `idleFlushMs`), so the
// end of an utterance without a mark is not held back. `clear` drops what is gathered.
//
// Exotel does not document whether `clear` returns the marks still pending (Twilio's do). We resolve
// them ourselves when we clear and ignore a later echo of the same mark, so either behaviour is safe.
//
// Hanging up closes the WebSocket: in a Voicebot flow Exotel then runs the next applet (put a Hangup
// applet after it); Exotel's v1 API has no REST hang-up.
import { bytesForDurationMs, durationMs, systemClock } from '@parley/voice';
import type {
  AudioFormat,
  CallTransport,
  Clock,
  TimerHandle,
  TransportCapabilities,
  TransportEvent,
} from '@parley/voice';
import type { WebSocket } from 'ws';
import type { MediaStreamStart } from '../carrier.js';
import {
  CALLER_HUNG_UP,
  CONNECTION_LOST,
  MediaSocket,
  MediaStreamError,
  silenceByte,
  StartRefusal,
  waitForStart,
  zeroMediaSocketCounters,
} from '../media-socket.js';
import type { MediaSocketCounters, MediaSocketSettings, MediaStartErrorCode } from '../media-socket.js';
import {
  exotelAudioFormat,
  exotelClearMessage,
  exotelMarkMessage,
  exotelMediaMessage,
  parseExotelMessage,
} from './messages.js';
import type { ExotelInboundMessage, ExotelStart } from './messages.js';

export type ExotelMediaErrorCode = MediaStartErrorCode;

/** Why a media stream could not be accepted. The socket has already been closed. */
export class ExotelMediaError extends MediaStreamError<ExotelMediaErrorCode> {
  override readonly name = 'ExotelMediaError';
}

export interface ExotelAcceptOptions extends MediaSocketSettings {
  /** How long to wait for `start` once the socket is open; Exotel sends it at once. */
  startTimeoutMs: number;
  /**
   * Shortest outbound chunk. Default 100 ms. Exotel's docs state the minimum as "3.2 KB (100 ms)",
   * which is 100 ms only at 16 kHz (3.2 KB of 8 kHz PCM16 is 200 ms); we read the rule as 100 ms.
   * Raise this if a live 8 kHz call stutters.
   */
  minChunkMs?: number;
  /** Gathered audio shorter than a chunk is sent, padded, after this long without new audio. Default 60 ms. */
  idleFlushMs?: number;
  /**
   * Used when `start` carries no `media_format`. Default: 16-bit PCM at 8 kHz, the base guide's format.
   * (The beta extension guide says μ-law is its default, so configure the applet's format explicitly.)
   */
  fallbackFormat?: AudioFormat;
}

export interface ExotelAccepted {
  transport: ExotelMediaTransport;
  start: MediaStreamStart;
  /** What else `start` said about the call. The numbers are personal data: never log them. */
  call: { accountSid: string; from: string; to: string };
}

export interface ExotelMediaStats extends MediaSocketCounters {
  /** Media messages sent to Exotel. */
  chunksSent: number;
  /** Silence added to complete a chunk at a mark or a pause. */
  paddingBytesSent: number;
  /** Gathered audio dropped by `clear` before it was sent. */
  audioBytesDroppedByClear: number;
}

/** Exotel plays outbound audio in chunks that are whole multiples of this (20 ms of 8 kHz PCM16). */
export const EXOTEL_CHUNK_QUANTUM_BYTES = 320;
/** Exotel's documented maximum chunk (larger ones time out), rounded down to the quantum. */
const MAX_CHUNK_BYTES = Math.floor(100_000 / EXOTEL_CHUNK_QUANTUM_BYTES) * EXOTEL_CHUNK_QUANTUM_BYTES;
const DEFAULT_MIN_CHUNK_MS = 100;
const DEFAULT_IDLE_FLUSH_MS = 60;
const PCM16_8K: AudioFormat = { encoding: 'pcm16', sampleRateHz: 8000, channels: 1 };

/** `stop` with a reason other than `callended`: the stream was stopped while the call went on. */
const STREAM_STOPPED = 'stream_stopped';

/** The smallest multiple of 320 bytes holding at least `minChunkMs` of `format`. */
export function exotelChunkBytes(format: AudioFormat, minChunkMs = DEFAULT_MIN_CHUNK_MS): number {
  const minimum = bytesForDurationMs(minChunkMs, format);
  return Math.max(1, Math.ceil(minimum / EXOTEL_CHUNK_QUANTUM_BYTES)) * EXOTEL_CHUNK_QUANTUM_BYTES;
}

function describeFormat(start: ExotelStart): string {
  const format = start.mediaFormat;
  if (!format) return 'none';
  return `${format.encoding} ${format.sampleRateHz ?? '?'} Hz ${format.bitRate ?? '?'} bit`;
}

/** A start we can serve, and the format it settled on. */
interface ExotelStarting {
  sequenceNumber: number | null;
  start: ExotelStart;
  format: AudioFormat;
}

export class ExotelMediaTransport implements CallTransport {
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  /** Exotel echoes marks; it has no way for us to send DTMF or transfer over the stream. */
  readonly capabilities: TransportCapabilities = { marks: true, sendDtmf: false, transfer: false };
  readonly streamSid: string;
  readonly callSid: string;
  /** Bytes per outbound media message (a multiple of 320, at least 100 ms). */
  readonly chunkBytes: number;

  private readonly media: MediaSocket<ExotelInboundMessage>;
  /** Outbound audio gathered until it fills a chunk. */
  private staged: Buffer;
  private stagedBytes = 0;
  private idleTimer: TimerHandle | null = null;
  private lastAudioAtMs = 0;
  /** Marks sent and not yet echoed (or resolved by a clear), in the order they were sent. */
  private readonly outstandingMarks: string[] = [];
  private readonly silence: number;
  private readonly counters: ExotelMediaStats = {
    ...zeroMediaSocketCounters(),
    chunksSent: 0,
    paddingBytesSent: 0,
    audioBytesDroppedByClear: 0,
  };

  /**
   * Waits for the stream's `start` on a freshly accepted socket. Rejects with an ExotelMediaError (and
   * closes the socket) on a malformed message, an event other than `connected` before `start`, a media
   * format Parley cannot handle, a timeout, or the socket closing first.
   */
  static accept(socket: WebSocket, options: ExotelAcceptOptions): Promise<ExotelAccepted> {
    return waitForStart(socket, options, {
      label: 'Exotel',
      parse: parseExotelMessage,
      connectedFirst: true,
      inspect: (message): ExotelStarting | StartRefusal<ExotelMediaErrorCode> => {
        const { start } = message;
        const format = start.mediaFormat
          ? exotelAudioFormat(start.mediaFormat)
          : (options.fallbackFormat ?? PCM16_8K);
        if (!format) {
          return new StartRefusal(
            'unsupported_media_format',
            `unsupported media_format ${describeFormat(start)}`,
          );
        }
        return { sequenceNumber: message.sequenceNumber, start, format };
      },
      accept: ({ sequenceNumber, start, format }): ExotelAccepted => ({
        transport: new ExotelMediaTransport(socket, sequenceNumber, start, format, {
          clock: options.clock ?? systemClock,
          closeTimeoutMs: options.closeTimeoutMs,
          maxBufferedAudioFrames: options.maxBufferedAudioFrames,
          chunkBytes: exotelChunkBytes(format, options.minChunkMs ?? DEFAULT_MIN_CHUNK_MS),
          idleFlushMs: options.idleFlushMs ?? DEFAULT_IDLE_FLUSH_MS,
        }),
        start: {
          carrierCallId: start.callSid,
          streamId: start.streamSid,
          customParameters: start.customParameters,
          inputFormat: format,
          outputFormat: format,
        },
        call: { accountSid: start.accountSid, from: start.from, to: start.to },
      }),
      error: (code, message) => new ExotelMediaError(code, message),
    });
  }

  private constructor(
    socket: WebSocket,
    startSequenceNumber: number | null,
    start: ExotelStart,
    format: AudioFormat,
    private readonly options: MediaSocketSettings & { clock: Clock; chunkBytes: number; idleFlushMs: number },
  ) {
    this.inputFormat = format;
    this.outputFormat = format;
    this.streamSid = start.streamSid;
    this.callSid = start.callSid;
    this.chunkBytes = options.chunkBytes;
    this.silence = silenceByte(format);
    this.staged = Buffer.alloc(options.chunkBytes * 2);
    this.media = new MediaSocket(socket, options, {
      startSequenceNumber,
      counters: this.counters,
      parse: parseExotelMessage,
      sequenceNumberOf: (message) =>
        message.event === 'connected' || message.event === 'unknown' ? null : message.sequenceNumber,
      onMessage: (message) => this.onMessage(message),
      onClose: () => {
        this.cancelIdleFlush();
        this.media.report({ type: 'hangup', reason: CONNECTION_LOST });
      },
    });
  }

  /** Counters for logs and metrics (a copy). */
  get stats(): ExotelMediaStats {
    return { ...this.counters };
  }

  /** Milliseconds of outbound audio gathered but not yet sent. */
  get stagedMs(): number {
    return durationMs(this.stagedBytes, this.outputFormat);
  }

  setListener(listener: (event: TransportEvent) => void): void {
    this.media.setListener(listener);
  }

  sendAudio(audio: Uint8Array): void {
    if (audio.byteLength === 0) return;
    if (!this.media.isOpen()) {
      this.counters.sendsAfterClose++;
      return;
    }
    this.counters.audioBytesSent += audio.byteLength;
    this.stage(audio);
    this.sendWholeChunks();
    this.lastAudioAtMs = this.options.clock.now();
    if (this.stagedBytes > 0) this.armIdleFlush(this.options.idleFlushMs);
    else this.cancelIdleFlush();
  }

  sendMark(name: string): void {
    if (!this.media.isOpen()) {
      this.counters.sendsAfterClose++;
      return;
    }
    // The mark must follow the audio before it, so that audio cannot wait for a full chunk.
    this.flushPadded();
    this.outstandingMarks.push(name);
    this.media.socket.send(exotelMarkMessage(this.streamSid, name));
  }

  clear(): void {
    this.counters.audioBytesDroppedByClear += this.stagedBytes;
    this.stagedBytes = 0;
    this.cancelIdleFlush();
    if (!this.media.isOpen()) {
      this.counters.sendsAfterClose++;
      return;
    }
    this.media.socket.send(exotelClearMessage(this.streamSid));
    // Cleared audio will never play: its marks are resolved now (see the file comment). Reported after
    // this call returns, as a carrier's echo would be, so the session never sees a re-entrant event.
    const resolved = this.outstandingMarks.splice(0);
    if (resolved.length > 0) {
      queueMicrotask(() => {
        for (const name of resolved) this.media.report({ type: 'mark', name });
      });
    }
  }

  /** Closes the media socket (see the file comment for what Exotel does next). Reports no hangup event. */
  hangUp(_reason: string): Promise<void> {
    this.cancelIdleFlush();
    this.stagedBytes = 0;
    return this.media.hangUp();
  }

  // --- outbound chunking ---------------------------------------------------------------------------

  private stage(audio: Uint8Array): void {
    const needed = this.stagedBytes + audio.byteLength;
    if (needed > this.staged.byteLength) {
      const grown = Buffer.alloc(Math.max(needed, this.staged.byteLength * 2));
      this.staged.copy(grown, 0, 0, this.stagedBytes);
      this.staged = grown;
    }
    this.staged.set(audio, this.stagedBytes);
    this.stagedBytes = needed;
  }

  /** Sends everything gathered that makes whole chunks; the remainder waits for more audio. */
  private sendWholeChunks(): void {
    while (this.stagedBytes >= this.chunkBytes) {
      const quanta = Math.floor(this.stagedBytes / EXOTEL_CHUNK_QUANTUM_BYTES);
      const bytes = Math.min(quanta * EXOTEL_CHUNK_QUANTUM_BYTES, MAX_CHUNK_BYTES);
      this.sendChunk(this.staged.subarray(0, bytes));
      this.staged.copy(this.staged, 0, bytes, this.stagedBytes);
      this.stagedBytes -= bytes;
    }
  }

  /** Sends everything gathered, the last chunk padded with silence to the minimum chunk size. */
  private flushPadded(): void {
    this.cancelIdleFlush();
    this.sendWholeChunks();
    if (this.stagedBytes === 0) return;
    const chunk = Buffer.alloc(this.chunkBytes, this.silence);
    this.staged.copy(chunk, 0, 0, this.stagedBytes);
    this.counters.paddingBytesSent += this.chunkBytes - this.stagedBytes;
    this.stagedBytes = 0;
    this.sendChunk(chunk);
  }

  private sendChunk(chunk: Uint8Array): void {
    this.counters.chunksSent++;
    this.media.socket.send(exotelMediaMessage(this.streamSid, chunk));
  }

  private armIdleFlush(delayMs: number): void {
    // One timer per pause, not per frame: when it fires early (audio kept coming) it re-arms itself
    // for the rest of the idle period instead of being cancelled and recreated 50 times a second.
    if (this.idleTimer) return;
    this.idleTimer = this.options.clock.setTimer(delayMs, () => {
      this.idleTimer = null;
      if (this.stagedBytes === 0 || !this.media.isOpen()) return;
      const idleMs = this.options.clock.now() - this.lastAudioAtMs;
      if (idleMs >= this.options.idleFlushMs) this.flushPadded();
      else this.armIdleFlush(this.options.idleFlushMs - idleMs);
    });
  }

  private cancelIdleFlush(): void {
    this.idleTimer?.cancel();
    this.idleTimer = null;
  }

  // --- inbound -------------------------------------------------------------------------------------

  private onMessage(message: ExotelInboundMessage): void {
    switch (message.event) {
      case 'media': {
        let audio = Buffer.from(message.payload, 'base64');
        // PCM16 is two bytes a sample; a stray odd byte would shift every later sample.
        if (this.inputFormat.encoding === 'pcm16' && audio.byteLength % 2 !== 0) {
          audio = audio.subarray(0, audio.byteLength - 1);
        }
        this.counters.mediaFramesReceived++;
        this.counters.audioBytesReceived += audio.byteLength;
        if (audio.byteLength > 0) this.media.report({ type: 'audio', audio });
        return;
      }
      case 'mark': {
        const index = this.outstandingMarks.indexOf(message.name);
        if (index === -1) {
          // Already resolved by a clear (or never sent by us).
          this.counters.ignoredMessages++;
          return;
        }
        this.outstandingMarks.splice(index, 1);
        this.media.report({ type: 'mark', name: message.name });
        return;
      }
      case 'dtmf':
        this.media.report({ type: 'dtmf', digit: message.digit });
        return;
      case 'stop':
        this.cancelIdleFlush();
        // Nothing follows a stop; release the socket now rather than wait for Exotel to close it.
        this.media.stopped(
          message.reason === null || message.reason === 'callended' ? CALLER_HUNG_UP : STREAM_STOPPED,
        );
        return;
      case 'connected':
      case 'start':
      case 'unknown':
        this.counters.ignoredMessages++;
        return;
    }
  }
}
