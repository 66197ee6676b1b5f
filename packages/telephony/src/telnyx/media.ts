// Telnyx Media Streaming (bidirectional, `stream_bidirectional_mode: rtp`) as a CallTransport: the server
// side of the WebSocket Telnyx opens to the `stream_url` of a Call Control dial or answer. `accept`
// waits for the stream's `start`, reads the codec from its `media_format`, then inbound JSON frames
// become TransportEvents and the session's audio, marks and clears become Telnyx messages.
//
// Telnyx echoes a mark when the media before it has played (at once when nothing is queued) and
// returns queued marks on `clear`, as Twilio does. Its RTP chunks must hold at least 20 ms, so a shorter
// trailing frame is padded with silence.
//
// Closing the media socket does not end a Call Control call: the leg stays up, silent. So `hangUp`,
// `transfer` and `sendDtmf` go through Call Control (REST) when `callControl` is given, and the
// capabilities say so honestly when it is not.
import { bytesForDurationMs, systemClock, ALAW_SILENCE, MULAW_SILENCE } from '@parley/voice';
import type {
  AudioFormat,
  CallTransport,
  Clock,
  TimerHandle,
  TransportCapabilities,
  TransportEvent,
} from '@parley/voice';
import type { RawData, WebSocket } from 'ws';
import type { CarrierCallControl, MediaStreamStart } from '../carrier.js';
import {
  decodeTelnyxClientState,
  parseTelnyxMessage,
  swapPcm16ByteOrder,
  telnyxAudioFormat,
  telnyxClearMessage,
  telnyxMarkMessage,
  telnyxMediaMessage,
} from './messages.js';
import type { TelnyxStart } from './messages.js';

export type TelnyxMediaErrorCode =
  | 'malformed_message'
  | 'unexpected_event'
  | 'unsupported_media_format'
  | 'unauthorized'
  | 'start_timeout'
  | 'closed_before_start';

/** Why a media stream could not be accepted. The socket has already been closed. */
export class TelnyxMediaError extends Error {
  override readonly name = 'TelnyxMediaError';

  constructor(
    readonly code: TelnyxMediaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TelnyxAcceptOptions {
  /** How long to wait for `start` once the socket is open; Telnyx sends it at once. */
  startTimeoutMs: number;
  clock?: Clock;
  /** How long `hangUp` waits for the closing handshake before dropping the connection. */
  closeTimeoutMs?: number;
  /** Caller audio frames kept while no listener is registered yet; older ones are dropped. */
  maxBufferedAudioFrames?: number;
  /**
   * The `stream_auth_token` the stream was started with. Telnyx repeats it in the `connected` frame;
   * a stream without it (or with another) is refused. Omit when the upgrade request was checked instead.
   */
  expectedAuthToken?: string;
  /**
   * The format we asked Telnyx to play (`stream_bidirectional_codec` and sampling rate). Default: the
   * format of the inbound stream, which is what Parley's commands request for both directions.
   */
  outputFormat?: AudioFormat;
  /** Ends, transfers and sends DTMF on the call; without it only the media socket can be closed. */
  callControl?: Pick<CarrierCallControl, 'hangUp' | 'transfer' | 'sendDtmf'>;
}

export interface TelnyxAccepted {
  transport: TelnyxMediaTransport;
  /** `customParameters` holds the start's custom_parameters and the parameters in its client_state. */
  start: MediaStreamStart;
  /** What else `start` said about the call. The numbers are personal data: never log them. */
  call: { callSessionId: string | null; from: string; to: string; clientState: string | null };
}

export interface TelnyxMediaStats {
  mediaFramesReceived: number;
  audioBytesReceived: number;
  audioBytesSent: number;
  /** Silence added to bring frames shorter than 20 ms up to Telnyx's minimum. */
  paddingBytesSent: number;
  /** `error` frames from Telnyx; the last code is kept for the call record. */
  carrierErrors: number;
  lastCarrierErrorCode: string | null;
  /** Frames that were not JSON or lacked required fields; ignored. */
  malformedMessages: number;
  /** Well-formed frames we do not act on (unknown events, the outbound track, anything after stop). */
  ignoredMessages: number;
  /** Messages whose sequence_number did not follow the previous one (Telnyx does not guarantee order). */
  sequenceGaps: number;
  /** Caller audio dropped because no listener was registered in time. */
  audioFramesDroppedBeforeListener: number;
  /** Sends attempted after the socket closed. */
  sendsAfterClose: number;
}

/** The shortest RTP chunk Telnyx plays. */
const MIN_OUTBOUND_MS = 20;

/** WebSocket close code for protocol violations (RFC 6455 §7.4.1 "policy violation"). */
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_NORMAL = 1000;
const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
/** 10 s of 20 ms frames: enough for a slow database lookup between `start` and the session. */
const DEFAULT_MAX_BUFFERED_AUDIO_FRAMES = 500;

/** Session hang-up reason for a caller who hung up (the session maps it to `caller_hangup`). */
const CALLER_HUNG_UP = 'caller hung up';
/** The socket closed without a `stop`: network failure or Telnyx dropping the stream. */
const CONNECTION_LOST = 'connection_lost';

function rawText(data: RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function silenceByte(format: AudioFormat): number {
  if (format.encoding === 'mulaw') return MULAW_SILENCE;
  if (format.encoding === 'alaw') return ALAW_SILENCE;
  return 0;
}

export class TelnyxMediaTransport implements CallTransport {
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  readonly capabilities: TransportCapabilities;
  readonly streamId: string;
  readonly callControlId: string;

  private listener: ((event: TransportEvent) => void) | null = null;
  /** Events that arrived before the session registered its listener, in order. */
  private pending: TransportEvent[] = [];
  private pendingAudioFrames = 0;
  /** Set once a hangup was reported or we hung up: nothing more is reported after that. */
  private ended = false;
  private lastSequenceNumber: number | null;
  private closing: Promise<void> | null = null;
  private readonly minOutboundBytes: number;
  private readonly counters: TelnyxMediaStats = {
    mediaFramesReceived: 0,
    audioBytesReceived: 0,
    audioBytesSent: 0,
    paddingBytesSent: 0,
    carrierErrors: 0,
    lastCarrierErrorCode: null,
    malformedMessages: 0,
    ignoredMessages: 0,
    sequenceGaps: 0,
    audioFramesDroppedBeforeListener: 0,
    sendsAfterClose: 0,
  };

  /**
   * Waits for the stream's `start` on a freshly accepted socket. Rejects with a TelnyxMediaError (and
   * closes the socket) on a malformed message, an event other than `connected` before `start`, a
   * missing or wrong auth token, a codec Parley cannot handle, a timeout, or the socket closing first.
   */
  static accept(socket: WebSocket, options: TelnyxAcceptOptions): Promise<TelnyxAccepted> {
    const clock = options.clock ?? systemClock;
    return new Promise<TelnyxAccepted>((resolve, reject) => {
      let timer: TimerHandle | null = null;
      let connectedSeen = false;
      let presentedToken: string | null = null;

      const cleanUp = (): void => {
        timer?.cancel();
        socket.off('message', onMessage);
        socket.off('close', onClose);
        socket.off('error', onError);
      };
      const fail = (code: TelnyxMediaErrorCode, message: string): void => {
        cleanUp();
        // A stream we cannot serve is closed here so callers never leak a half-open socket.
        if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
          socket.close(CLOSE_POLICY_VIOLATION, code);
        }
        reject(new TelnyxMediaError(code, message));
      };
      const onMessage = (data: RawData, isBinary: boolean): void => {
        const text = rawText(data, isBinary);
        if (text === null) {
          fail('malformed_message', 'Telnyx media stream: binary frame before start');
          return;
        }
        const parsed = parseTelnyxMessage(text);
        if (!parsed.ok) {
          fail('malformed_message', `Telnyx media stream: ${parsed.reason} before start`);
          return;
        }
        const message = parsed.message;
        if (message.event === 'connected' && !connectedSeen) {
          connectedSeen = true;
          presentedToken = message.authToken;
          return;
        }
        if (message.event !== 'start') {
          const name = message.event === 'unknown' ? message.name : message.event;
          fail('unexpected_event', `Telnyx media stream: expected start, got ${name}`);
          return;
        }
        if (options.expectedAuthToken !== undefined && presentedToken !== options.expectedAuthToken) {
          // Never echo either token: the message says only which check failed.
          fail('unauthorized', 'Telnyx media stream: missing or wrong streaming auth token');
          return;
        }
        const { start } = message;
        const format = telnyxAudioFormat(start.mediaFormat);
        if (!format) {
          const { encoding, sampleRateHz, channels } = start.mediaFormat;
          fail(
            'unsupported_media_format',
            `Telnyx media stream: unsupported media_format ${encoding} ${sampleRateHz} Hz ${channels} ch`,
          );
          return;
        }
        cleanUp();
        const outputFormat = options.outputFormat ?? format;
        const transport = new TelnyxMediaTransport(socket, message.sequenceNumber, start, format, {
          clock,
          outputFormat,
          closeTimeoutMs: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
          maxBufferedAudioFrames: options.maxBufferedAudioFrames ?? DEFAULT_MAX_BUFFERED_AUDIO_FRAMES,
          callControl: options.callControl ?? null,
        });
        resolve({
          transport,
          start: {
            carrierCallId: start.callControlId,
            streamId: start.streamId,
            customParameters: { ...start.customParameters, ...decodeTelnyxClientState(start.clientState) },
            inputFormat: format,
            outputFormat,
          },
          call: {
            callSessionId: start.callSessionId,
            from: start.from,
            to: start.to,
            clientState: start.clientState,
          },
        });
      };
      const onClose = (): void => {
        cleanUp();
        reject(new TelnyxMediaError('closed_before_start', 'Telnyx media stream closed before start'));
      };
      // Without a listener an 'error' event would crash the process; the close that follows rejects.
      const onError = (): void => {};

      if (socket.readyState === socket.CLOSING || socket.readyState === socket.CLOSED) {
        reject(new TelnyxMediaError('closed_before_start', 'Telnyx media stream closed before start'));
        return;
      }
      socket.on('message', onMessage);
      socket.on('close', onClose);
      socket.on('error', onError);
      timer = clock.setTimer(options.startTimeoutMs, () =>
        fail('start_timeout', `Telnyx media stream: no start within ${options.startTimeoutMs} ms`),
      );
    });
  }

  private constructor(
    private readonly socket: WebSocket,
    startSequenceNumber: number | null,
    start: TelnyxStart,
    inputFormat: AudioFormat,
    private readonly options: {
      clock: Clock;
      outputFormat: AudioFormat;
      closeTimeoutMs: number;
      maxBufferedAudioFrames: number;
      callControl: Pick<CarrierCallControl, 'hangUp' | 'transfer' | 'sendDtmf'> | null;
    },
  ) {
    this.inputFormat = inputFormat;
    this.outputFormat = options.outputFormat;
    this.streamId = start.streamId;
    this.callControlId = start.callControlId;
    const viaRest = options.callControl !== null;
    this.capabilities = { marks: true, sendDtmf: viaRest, transfer: viaRest };
    this.minOutboundBytes = bytesForDurationMs(MIN_OUTBOUND_MS, this.outputFormat);
    this.lastSequenceNumber = startSequenceNumber;
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', () => this.report({ type: 'hangup', reason: CONNECTION_LOST }));
    socket.on('error', () => {
      // The 'close' that follows reports the hang-up.
    });
  }

  /** Counters for logs and metrics (a copy). */
  get stats(): TelnyxMediaStats {
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
    let payload: Uint8Array = audio;
    if (payload.byteLength < this.minOutboundBytes) {
      const padded = Buffer.alloc(this.minOutboundBytes, silenceByte(this.outputFormat));
      padded.set(payload);
      this.counters.paddingBytesSent += padded.byteLength - payload.byteLength;
      payload = padded;
    }
    if (this.outputFormat.encoding === 'pcm16') payload = swapPcm16ByteOrder(payload);
    if (this.send(telnyxMediaMessage(payload))) this.counters.audioBytesSent += audio.byteLength;
  }

  sendMark(name: string): void {
    this.send(telnyxMarkMessage(name));
  }

  clear(): void {
    this.send(telnyxClearMessage());
  }

  /** Sends DTMF on the call through Call Control (`actions/send_dtmf`). */
  async sendDtmf(digits: string): Promise<void> {
    await this.requireCallControl('send DTMF').sendDtmf(this.callControlId, digits);
  }

  /** Cold transfer through Call Control (`actions/transfer`); the stream ends when the leg leaves. */
  async transfer(destination: string): Promise<void> {
    await this.requireCallControl('transfer').transfer(this.callControlId, destination);
  }

  /**
   * Ends the call: a Call Control hang-up when `callControl` was given (closing the socket alone would
   * leave the leg up), then closes the media socket. Reports no hangup event. A failed REST hang-up is
   * rethrown after the socket is closed.
   */
  async hangUp(_reason: string): Promise<void> {
    this.ended = true;
    let failure: unknown = null;
    if (this.options.callControl) {
      try {
        await this.options.callControl.hangUp(this.callControlId);
      } catch (error) {
        failure = error;
      }
    }
    this.closing ??= this.close(CLOSE_NORMAL, 'call ended');
    await this.closing;
    if (failure !== null) throw failure;
  }

  private requireCallControl(
    operation: string,
  ): Pick<CarrierCallControl, 'hangUp' | 'transfer' | 'sendDtmf'> {
    if (!this.options.callControl) {
      throw new Error(`Telnyx media transport: cannot ${operation} without Call Control`);
    }
    return this.options.callControl;
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
    const parsed = text === null ? null : parseTelnyxMessage(text);
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
        const raw = Buffer.from(message.payload, 'base64');
        const audio = this.inputFormat.encoding === 'pcm16' ? swapPcm16ByteOrder(raw) : raw;
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
      case 'error':
        this.counters.carrierErrors++;
        this.counters.lastCarrierErrorCode = message.code;
        return;
      case 'stop':
        this.report({ type: 'hangup', reason: CALLER_HUNG_UP });
        // Nothing follows a stop; release the socket now rather than wait for Telnyx to close it.
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
