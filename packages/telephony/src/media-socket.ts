// What every carrier's media WebSocket does the same way, whatever its wire format: waiting for the
// stream's opening message (with a timeout, closing a socket we cannot serve), holding events until the
// session registers its listener, counting inbound sequence gaps, sending only while open, and closing
// with a bounded handshake. Message shapes, formats, chunking and byte order stay in each carrier's
// media.ts.
//
// Hot path: the inbound handler and `send` run for every 20 ms frame of every call, so nothing here
// allocates or defers per message; closures are made once per socket.
import { ALAW_SILENCE, MULAW_SILENCE, systemClock } from '@parley/voice';
import type { AudioFormat, Clock, TimerHandle, TransportEvent } from '@parley/voice';
import type { RawData, WebSocket } from 'ws';

/** WebSocket close code for protocol violations (RFC 6455 §7.4.1 "policy violation"). */
const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_NORMAL = 1000;

const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
/** 10 s of 20 ms frames (more at Exotel's ~100 ms chunks): enough for a slow database lookup. */
const DEFAULT_MAX_BUFFERED_AUDIO_FRAMES = 500;

/** Session hang-up reason for a caller who hung up (the session maps it to `caller_hangup`). */
export { CALLER_HUNG_UP } from '@parley/voice';
/** The socket dropped without the carrier ending the stream: network failure or the carrier losing it. */
export const CONNECTION_LOST = 'connection_lost';

/** What each carrier's parser returns. */
export type ParseResult<M> = { ok: true; message: M } | { ok: false; reason: string };

export type MediaStartErrorCode =
  | 'malformed_message'
  | 'unexpected_event'
  | 'unsupported_media_format'
  | 'start_timeout'
  | 'closed_before_start';

/** Why a media stream could not be accepted. The socket has already been closed. */
export class MediaStreamError<C extends string = MediaStartErrorCode> extends Error {
  override readonly name: string = 'MediaStreamError';

  constructor(
    readonly code: C,
    message: string,
  ) {
    super(message);
  }
}

/** A carrier's reason to refuse a stream before it starts; `detail` follows "<Carrier> media stream: ". */
export class StartRefusal<C extends string> {
  constructor(
    readonly code: C,
    readonly detail: string,
  ) {}
}

function rawText(data: RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** The byte that encodes silence in `format` (for padding short outbound chunks). */
export function silenceByte(format: AudioFormat): number {
  if (format.encoding === 'mulaw') return MULAW_SILENCE;
  if (format.encoding === 'alaw') return ALAW_SILENCE;
  return 0;
}

/** The settings every carrier's accept options share. */
export interface MediaSocketSettings {
  /** Default: the process clock. */
  clock?: Clock | undefined;
  /** How long `hangUp` waits for the closing handshake before dropping the connection. Default 2 s. */
  closeTimeoutMs?: number | undefined;
  /** Caller audio messages kept while no listener is registered yet; older ones are dropped. Default 500. */
  maxBufferedAudioFrames?: number | undefined;
}

/** The part of every carrier's inbound messages the start handshake reads. */
interface CarrierMessage {
  event: string;
}

type EventOf<M, E extends string> = Extract<M, { event: E }>;

function isEvent<M extends CarrierMessage, E extends string>(message: M, event: E): message is EventOf<M, E> {
  return message.event === event;
}

/** How error messages name an event: an unknown one by its own name. */
function eventName(message: CarrierMessage): string {
  if (message.event === 'unknown' && 'name' in message && typeof message.name === 'string')
    return message.name;
  return message.event;
}

export interface StartWait<M extends CarrierMessage, S, T, C extends string> {
  /** The carrier as error messages name it ("Twilio"). */
  label: string;
  parse(text: string): ParseResult<M>;
  /**
   * Whether one `connected` may precede `start` (Twilio, Exotel, Telnyx); it is handed to `onConnected`.
   * Any other message before `start` is refused.
   */
  connectedFirst: boolean;
  onConnected?(message: EventOf<M, 'connected'>): void;
  /** Judges the start: what `accept` needs when we can serve the stream, or a refusal. */
  inspect(message: EventOf<M, 'start'>): S | StartRefusal<C>;
  /**
   * Builds the transport and the result. Runs synchronously once our listeners are gone, so the
   * transport's own listener sees the very next frame.
   */
  accept(start: S): T;
  error(code: C | MediaStartErrorCode, message: string): Error;
}

/**
 * Waits for a stream's start on a freshly accepted socket. Rejects with the carrier's error, closing
 * the socket, on a binary or unparsable message, another event before start, a start `inspect`
 * refuses, a timeout, or the socket closing first.
 */
export function waitForStart<M extends CarrierMessage, S, T, C extends string>(
  socket: WebSocket,
  options: { startTimeoutMs: number; clock?: Clock | undefined },
  wait: StartWait<M, S, T, C>,
): Promise<T> {
  const { label } = wait;
  const { startTimeoutMs } = options;
  return new Promise<T>((resolve, reject) => {
    let timer: TimerHandle | null = null;
    let connectedSeen = !wait.connectedFirst;

    const cleanUp = (): void => {
      timer?.cancel();
      socket.off('message', onMessage);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const fail = (code: C | MediaStartErrorCode, message: string): void => {
      cleanUp();
      // A stream we cannot serve is closed here so callers never leak a half-open socket.
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
        socket.close(CLOSE_POLICY_VIOLATION, code);
      }
      reject(wait.error(code, message));
    };
    const onMessage = (data: RawData, isBinary: boolean): void => {
      const text = rawText(data, isBinary);
      if (text === null) {
        fail('malformed_message', `${label} media stream: binary frame before start`);
        return;
      }
      const parsed = wait.parse(text);
      if (!parsed.ok) {
        fail('malformed_message', `${label} media stream: ${parsed.reason} before start`);
        return;
      }
      const message = parsed.message;
      if (isEvent(message, 'connected') && !connectedSeen) {
        connectedSeen = true;
        wait.onConnected?.(message);
        return;
      }
      if (!isEvent(message, 'start')) {
        fail('unexpected_event', `${label} media stream: expected start, got ${eventName(message)}`);
        return;
      }
      const verdict = wait.inspect(message);
      if (verdict instanceof StartRefusal) {
        fail(verdict.code, `${label} media stream: ${verdict.detail}`);
        return;
      }
      cleanUp();
      resolve(wait.accept(verdict));
    };
    const closedBeforeStart = (): Error =>
      wait.error('closed_before_start', `${label} media stream closed before start`);
    const onClose = (): void => {
      cleanUp();
      reject(closedBeforeStart());
    };
    // Without a listener an 'error' event would crash the process; the close that follows rejects.
    const onError = (): void => {};

    if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) {
      reject(closedBeforeStart());
      return;
    }
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
    timer = (options.clock ?? systemClock).setTimer(startTimeoutMs, () =>
      fail('start_timeout', `${label} media stream: no start within ${startTimeoutMs} ms`),
    );
  });
}

/**
 * The counters every carrier's media stats have: the MediaSocket keeps the protocol ones in the
 * carrier's own stats object, and the carrier counts the audio. Carriers add their own on top.
 */
export interface MediaSocketCounters {
  mediaFramesReceived: number;
  audioBytesReceived: number;
  /** Audio the session handed the transport (before any chunking or padding). */
  audioBytesSent: number;
  /** Frames that were not JSON or lacked required fields; ignored. */
  malformedMessages: number;
  /** Well-formed frames we do not act on; here, anything after the call ended. */
  ignoredMessages: number;
  /** Messages whose sequence number did not follow the previous one (lost or reordered frames). */
  sequenceGaps: number;
  /** Caller audio dropped because no listener was registered in time. */
  audioFramesDroppedBeforeListener: number;
  /** Sends attempted after the socket closed. */
  sendsAfterClose: number;
}

/** Every counter at zero, for a carrier's stats to start from. */
export function zeroMediaSocketCounters(): MediaSocketCounters {
  return {
    mediaFramesReceived: 0,
    audioBytesReceived: 0,
    audioBytesSent: 0,
    malformedMessages: 0,
    ignoredMessages: 0,
    sequenceGaps: 0,
    audioFramesDroppedBeforeListener: 0,
    sendsAfterClose: 0,
  };
}

/** What a carrier's transport hands its MediaSocket. */
export interface MediaSocketCarrier<M> {
  /** The start message's sequence number, so a gap right after it counts. */
  startSequenceNumber: number | null;
  /** The carrier's stats, which the socket updates in place. */
  counters: MediaSocketCounters;
  parse(text: string): ParseResult<M>;
  /** The message's sequence number, for gap counting; null where it has none. */
  sequenceNumberOf(message: M): number | null;
  /**
   * Every well-formed inbound message until the call ends; binary and unparsable ones, and any after
   * the end, are counted and dropped.
   */
  onMessage(message: M): void;
  /** The socket closed (with the peer's close code): the carrier reports the hangup it means. */
  onClose(code: number): void;
}

/** A started media socket: the carrier's transport sends and reports through it. */
export class MediaSocket<M> {
  private listener: ((event: TransportEvent) => void) | null = null;
  /** Events that arrived before the session registered its listener, in order. */
  private pending: TransportEvent[] = [];
  private pendingAudioFrames = 0;
  private hasEnded = false;
  private lastSequenceNumber: number | null;
  private closing: Promise<void> | null = null;
  private readonly counters: MediaSocketCounters;
  private readonly parse: (text: string) => ParseResult<M>;
  private readonly sequenceNumberOf: (message: M) => number | null;
  private readonly onMessage: (message: M) => void;
  private readonly clock: Clock;
  private readonly closeTimeoutMs: number;
  private readonly maxBufferedAudioFrames: number;

  constructor(
    readonly socket: WebSocket,
    settings: MediaSocketSettings,
    carrier: MediaSocketCarrier<M>,
  ) {
    this.clock = settings.clock ?? systemClock;
    this.closeTimeoutMs = settings.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.maxBufferedAudioFrames = settings.maxBufferedAudioFrames ?? DEFAULT_MAX_BUFFERED_AUDIO_FRAMES;
    this.lastSequenceNumber = carrier.startSequenceNumber;
    this.counters = carrier.counters;
    this.parse = carrier.parse;
    this.sequenceNumberOf = carrier.sequenceNumberOf;
    this.onMessage = carrier.onMessage;
    const onClose = carrier.onClose;
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('close', (code) => onClose(code));
    socket.on('error', () => {
      // The 'close' that follows reports the hang-up.
    });
  }

  /** Set once a hangup was reported or we hung up: nothing more is reported after that. */
  get ended(): boolean {
    return this.hasEnded;
  }

  /** We are hanging up: report nothing more. */
  end(): void {
    this.hasEnded = true;
  }

  /** Registers the session's listener and hands it what arrived before, in order. */
  setListener(listener: (event: TransportEvent) => void): void {
    this.listener = listener;
    const pending = this.pending;
    this.pending = [];
    this.pendingAudioFrames = 0;
    for (const event of pending) listener(event);
  }

  /** Reports an event to the session (held until it listens); nothing after a hangup. */
  report(event: TransportEvent): void {
    if (this.hasEnded) return;
    if (event.type === 'hangup') this.hasEnded = true;
    if (this.listener) {
      this.listener(event);
      return;
    }
    this.pending.push(event);
    if (event.type !== 'audio') return;
    this.pendingAudioFrames++;
    if (this.pendingAudioFrames > this.maxBufferedAudioFrames) {
      const oldest = this.pending.findIndex((pending) => pending.type === 'audio');
      this.pending.splice(oldest, 1);
      this.pendingAudioFrames--;
      this.counters.audioFramesDroppedBeforeListener++;
    }
  }

  isOpen(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** Sends a text frame if the socket is open; counts the attempt otherwise. */
  send(text: string): boolean {
    if (this.socket.readyState !== this.socket.OPEN) {
      this.counters.sendsAfterClose++;
      return false;
    }
    this.socket.send(text);
    return true;
  }

  private trackSequence(sequenceNumber: number | null): void {
    if (sequenceNumber === null) return;
    if (this.lastSequenceNumber !== null && sequenceNumber !== this.lastSequenceNumber + 1) {
      this.counters.sequenceGaps++;
    }
    this.lastSequenceNumber = sequenceNumber;
  }

  /** The carrier ended the stream: reports the hangup and releases the socket, as nothing follows. */
  stopped(reason: string): void {
    this.report({ type: 'hangup', reason });
    void this.close(CLOSE_NORMAL, 'stream stopped');
  }

  /** We end the call: reports nothing more and closes the socket. */
  hangUp(): Promise<void> {
    this.hasEnded = true;
    return this.close(CLOSE_NORMAL, 'call ended');
  }

  /** Closes the socket; resolves once the peer answered or after the close timeout. The first call wins. */
  close(code: number, reason: string): Promise<void> {
    this.closing ??= this.closeSocket(code, reason);
    return this.closing;
  }

  private closeSocket(code: number, reason: string): Promise<void> {
    const socket = this.socket;
    if (socket.readyState === socket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // A peer that never answers the closing handshake is dropped rather than awaited for ws's 30 s.
      const timer = this.clock.setTimer(this.closeTimeoutMs, () => {
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

  private receive(data: RawData, isBinary: boolean): void {
    const text = rawText(data, isBinary);
    const parsed = text === null ? null : this.parse(text);
    if (!parsed?.ok) {
      this.counters.malformedMessages++;
      return;
    }
    const message = parsed.message;
    this.trackSequence(this.sequenceNumberOf(message));
    if (this.hasEnded) {
      this.counters.ignoredMessages++;
      return;
    }
    this.onMessage(message);
  }
}
