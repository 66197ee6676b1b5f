// Twilio Media Streams (bidirectional `<Connect><Stream>`) as a CallTransport: the server side of the
// WebSocket Twilio opens to us. `accept` waits for the stream's `start`, then inbound JSON frames become
// TransportEvents and the session's audio, marks and clears become Twilio messages.
//
// Hanging up closes the WebSocket. Twilio then continues with the TwiML after `<Connect>` (nothing, in
// the answer documents we generate, so the call ends); a REST hang-up (`Status=completed`) belongs to
// call-control and is not done here.
import { MULAW_8K, systemClock } from '@parley/voice';
import type {
  AudioFormat,
  CallTransport,
  Clock,
  TimerHandle,
  TransportCapabilities,
  TransportEvent,
} from '@parley/voice';
import type { RawData, WebSocket } from 'ws';
import { clearMessage, markMessage, mediaMessage, parseTwilioMessage } from './messages.js';
import type { TwilioMediaFormat, TwilioStart } from './messages.js';

export type TwilioMediaErrorCode =
  | 'malformed_message'
  | 'unexpected_event'
  | 'unsupported_media_format'
  | 'start_timeout'
  | 'closed_before_start';

/** Why a media stream could not be accepted. The socket has already been closed. */
export class TwilioMediaError extends Error {
  override readonly name = 'TwilioMediaError';

  constructor(
    readonly code: TwilioMediaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TwilioAcceptOptions {
  /** How long to wait for `start` once the socket is open; Twilio sends it at once. */
  startTimeoutMs: number;
  clock?: Clock;
  /** How long `hangUp` waits for the closing handshake before dropping the connection. */
  closeTimeoutMs?: number;
  /** Caller audio frames kept while no listener is registered yet; older ones are dropped. */
  maxBufferedAudioFrames?: number;
}

export interface TwilioStreamStart {
  streamSid: string;
  callSid: string;
  accountSid: string;
  customParameters: Record<string, string>;
  mediaFormat: TwilioMediaFormat;
}

export interface TwilioAccepted {
  transport: TwilioMediaTransport;
  start: TwilioStreamStart;
}

export interface TwilioMediaStats {
  mediaFramesReceived: number;
  audioBytesReceived: number;
  audioBytesSent: number;
  /** Frames that were not JSON or lacked required fields; ignored. */
  malformedMessages: number;
  /** Well-formed frames we do not act on (unknown events, the outbound track, anything after stop). */
  ignoredMessages: number;
  /** Messages whose sequenceNumber did not follow the previous one (lost or reordered frames). */
  sequenceGaps: number;
  /** Caller audio dropped because no listener was registered in time. */
  audioFramesDroppedBeforeListener: number;
  /** Sends attempted after the socket closed. */
  sendsAfterClose: number;
}

/** The only format Twilio streams; anything else means a misconfigured stream. */
const SUPPORTED_FORMAT: TwilioMediaFormat = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 };

/** WebSocket close code for protocol violations (RFC 6455 §7.4.1 "policy violation"). */
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_NORMAL = 1000;

const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
/** 10 s of 20 ms frames: enough for a slow database lookup between `start` and the session. */
const DEFAULT_MAX_BUFFERED_AUDIO_FRAMES = 500;

/** Session hang-up reason for a caller who hung up (the session maps it to `caller_hangup`). */
const CALLER_HUNG_UP = 'caller hung up';
/** The socket closed without a `stop`: network failure or Twilio dropping the stream. */
const CONNECTION_LOST = 'connection_lost';

function rawText(data: RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function isSupportedFormat(format: TwilioMediaFormat): boolean {
  return (
    format.encoding === SUPPORTED_FORMAT.encoding &&
    format.sampleRate === SUPPORTED_FORMAT.sampleRate &&
    format.channels === SUPPORTED_FORMAT.channels
  );
}

export class TwilioMediaTransport implements CallTransport {
  readonly inputFormat: AudioFormat = MULAW_8K;
  readonly outputFormat: AudioFormat = MULAW_8K;
  readonly capabilities: TransportCapabilities = { marks: true, sendDtmf: false, transfer: false };
  readonly streamSid: string;

  private listener: ((event: TransportEvent) => void) | null = null;
  /** Events that arrived before the session registered its listener, in order. */
  private pending: TransportEvent[] = [];
  private pendingAudioFrames = 0;
  /** Set once a hangup was reported or we hung up: nothing more is reported after that. */
  private ended = false;
  private lastSequenceNumber: number | null;
  private closing: Promise<void> | null = null;
  private readonly counters: TwilioMediaStats = {
    mediaFramesReceived: 0,
    audioBytesReceived: 0,
    audioBytesSent: 0,
    malformedMessages: 0,
    ignoredMessages: 0,
    sequenceGaps: 0,
    audioFramesDroppedBeforeListener: 0,
    sendsAfterClose: 0,
  };

  /**
   * Waits for the stream's `start` on a freshly accepted socket. Rejects with a TwilioMediaError (and
   * closes the socket) on a malformed message, an event other than `connected` before `start`, a media
   * format other than μ-law 8 kHz mono, a timeout, or the socket closing first.
   */
  static accept(socket: WebSocket, options: TwilioAcceptOptions): Promise<TwilioAccepted> {
    const clock = options.clock ?? systemClock;
    return new Promise<TwilioAccepted>((resolve, reject) => {
      let timer: TimerHandle | null = null;
      let connectedSeen = false;

      const cleanUp = (): void => {
        timer?.cancel();
        socket.off('message', onMessage);
        socket.off('close', onClose);
        socket.off('error', onError);
      };
      const fail = (code: TwilioMediaErrorCode, message: string): void => {
        cleanUp();
        // A stream we cannot serve is closed here so callers never leak a half-open socket.
        if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
          socket.close(CLOSE_POLICY_VIOLATION, code);
        }
        reject(new TwilioMediaError(code, message));
      };
      const onMessage = (data: RawData, isBinary: boolean): void => {
        const text = rawText(data, isBinary);
        if (text === null) {
          fail('malformed_message', 'Twilio media stream: binary frame before start');
          return;
        }
        const parsed = parseTwilioMessage(text);
        if (!parsed.ok) {
          fail('malformed_message', `Twilio media stream: ${parsed.reason} before start`);
          return;
        }
        const message = parsed.message;
        if (message.event === 'connected' && !connectedSeen) {
          connectedSeen = true;
          return;
        }
        if (message.event !== 'start') {
          const name = message.event === 'unknown' ? message.name : message.event;
          fail('unexpected_event', `Twilio media stream: expected start, got ${name}`);
          return;
        }
        const { start } = message;
        if (!isSupportedFormat(start.mediaFormat)) {
          const { encoding, sampleRate, channels } = start.mediaFormat;
          fail(
            'unsupported_media_format',
            `Twilio media stream: unsupported media format ${encoding} ${sampleRate} Hz ${channels} ch`,
          );
          return;
        }
        cleanUp();
        const transport = new TwilioMediaTransport(socket, message.sequenceNumber, start, {
          clock,
          closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
          maxBufferedAudioFrames: options.maxBufferedAudioFrames ?? DEFAULT_MAX_BUFFERED_AUDIO_FRAMES,
        });
        resolve({
          transport,
          start: {
            streamSid: start.streamSid,
            callSid: start.callSid,
            accountSid: start.accountSid,
            customParameters: start.customParameters,
            mediaFormat: start.mediaFormat,
          },
        });
      };
      const onClose = (): void => {
        cleanUp();
        reject(new TwilioMediaError('closed_before_start', 'Twilio media stream closed before start'));
      };
      // Without a listener an 'error' event would crash the process; the close that follows rejects.
      const onError = (): void => {};

      if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) {
        reject(new TwilioMediaError('closed_before_start', 'Twilio media stream closed before start'));
        return;
      }
      socket.on('message', onMessage);
      socket.on('close', onClose);
      socket.on('error', onError);
      timer = clock.setTimer(options.startTimeoutMs, () =>
        fail('start_timeout', `Twilio media stream: no start within ${options.startTimeoutMs} ms`),
      );
    });
  }

  private constructor(
    private readonly socket: WebSocket,
    startSequenceNumber: number | null,
    start: TwilioStart,
    private readonly options: { clock: Clock; closeTimeoutMs: number; maxBufferedAudioFrames: number },
  ) {
    this.streamSid = start.streamSid;
    this.lastSequenceNumber = startSequenceNumber;
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', () => this.report({ type: 'hangup', reason: CONNECTION_LOST }));
    socket.on('error', () => {
      // The 'close' that follows reports the hang-up.
    });
  }

  /** Counters for logs and metrics (a copy). */
  get stats(): TwilioMediaStats {
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
    if (this.send(mediaMessage(this.streamSid, audio))) this.counters.audioBytesSent += audio.byteLength;
  }

  sendMark(name: string): void {
    this.send(markMessage(this.streamSid, name));
  }

  clear(): void {
    this.send(clearMessage(this.streamSid));
  }

  /** Closes the media socket (see the file comment for what Twilio does next). Reports no hangup event. */
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
    const parsed = text === null ? null : parseTwilioMessage(text);
    if (!parsed?.ok) {
      this.counters.malformedMessages++;
      return;
    }
    const message = parsed.message;
    if (message.event !== 'connected' && message.event !== 'unknown')
      this.trackSequence(message.sequenceNumber);
    if (this.ended) {
      this.counters.ignoredMessages++;
      return;
    }
    switch (message.event) {
      case 'media': {
        if (message.track !== 'inbound') {
          this.counters.ignoredMessages++;
          return;
        }
        const audio = Buffer.from(message.payload, 'base64');
        this.counters.mediaFramesReceived++;
        this.counters.audioBytesReceived += audio.byteLength;
        if (audio.byteLength > 0) this.report({ type: 'audio', audio });
        return;
      }
      case 'mark':
        this.report({ type: 'mark', name: message.name });
        return;
      case 'dtmf':
        this.report({ type: 'dtmf', digit: message.digit });
        return;
      case 'stop':
        this.report({ type: 'hangup', reason: CALLER_HUNG_UP });
        // Nothing follows a stop; release the socket now rather than wait for Twilio to close it.
        this.closing ??= this.close(CLOSE_NORMAL, 'stream stopped');
        return;
      case 'connected':
      case 'start':
      case 'unknown':
        this.counters.ignoredMessages++;
        return;
    }
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
