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
import { bytesForDurationMs, LEAVING_TRANSFERRED_CALL } from '@parley/voice';
import type { AudioFormat, CallTransport, TransportCapabilities, TransportEvent } from '@parley/voice';
import type { WebSocket } from 'ws';
import type { CarrierCallControl, MediaStreamStart } from '../carrier.js';
import {
  CALLER_HUNG_UP,
  CLOSE_NORMAL,
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
  decodeTelnyxClientState,
  parseTelnyxMessage,
  swapPcm16ByteOrder,
  telnyxAudioFormat,
  telnyxClearMessage,
  telnyxMarkMessage,
  telnyxMediaMessage,
} from './messages.js';
import type { TelnyxInboundMessage, TelnyxStart } from './messages.js';

export type TelnyxMediaErrorCode = MediaStartErrorCode | 'unauthorized';

/** Why a media stream could not be accepted. The socket has already been closed. */
export class TelnyxMediaError extends MediaStreamError<TelnyxMediaErrorCode> {
  override readonly name = 'TelnyxMediaError';
}

export interface TelnyxAcceptOptions extends MediaSocketSettings {
  /** How long to wait for `start` once the socket is open; Telnyx sends it at once. */
  startTimeoutMs: number;
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

export interface TelnyxMediaStats extends MediaSocketCounters {
  /** Silence added to bring frames shorter than 20 ms up to Telnyx's minimum. */
  paddingBytesSent: number;
  /** `error` frames from Telnyx; the last code is kept for the call record. */
  carrierErrors: number;
  lastCarrierErrorCode: string | null;
}

/** The shortest RTP chunk Telnyx plays. */
const MIN_OUTBOUND_MS = 20;

type CallControl = Pick<CarrierCallControl, 'hangUp' | 'transfer' | 'sendDtmf'>;

/** A start we can serve, and the codec it settled on. */
interface TelnyxStarting {
  sequenceNumber: number | null;
  start: TelnyxStart;
  format: AudioFormat;
}

export class TelnyxMediaTransport implements CallTransport {
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  readonly capabilities: TransportCapabilities;
  readonly streamId: string;
  readonly callControlId: string;

  private readonly media: MediaSocket<TelnyxInboundMessage>;
  private readonly minOutboundBytes: number;
  private readonly counters: TelnyxMediaStats = {
    ...zeroMediaSocketCounters(),
    paddingBytesSent: 0,
    carrierErrors: 0,
    lastCarrierErrorCode: null,
  };

  /**
   * Waits for the stream's `start` on a freshly accepted socket. Rejects with a TelnyxMediaError (and
   * closes the socket) on a malformed message, an event other than `connected` before `start`, a
   * missing or wrong auth token, a codec Parley cannot handle, a timeout, or the socket closing first.
   */
  static accept(socket: WebSocket, options: TelnyxAcceptOptions): Promise<TelnyxAccepted> {
    let presentedToken: string | null = null;
    return waitForStart(socket, options, {
      label: 'Telnyx',
      parse: parseTelnyxMessage,
      connectedFirst: true,
      onConnected: (message) => {
        presentedToken = message.authToken;
      },
      inspect: (message): TelnyxStarting | StartRefusal<TelnyxMediaErrorCode> => {
        if (options.expectedAuthToken !== undefined && presentedToken !== options.expectedAuthToken) {
          // Never echo either token: the message says only which check failed.
          return new StartRefusal('unauthorized', 'missing or wrong streaming auth token');
        }
        const { start } = message;
        const format = telnyxAudioFormat(start.mediaFormat);
        if (!format) {
          const { encoding, sampleRateHz, channels } = start.mediaFormat;
          return new StartRefusal(
            'unsupported_media_format',
            `unsupported media_format ${encoding} ${sampleRateHz} Hz ${channels} ch`,
          );
        }
        return { sequenceNumber: message.sequenceNumber, start, format };
      },
      accept: ({ sequenceNumber, start, format }): TelnyxAccepted => {
        const outputFormat = options.outputFormat ?? format;
        // Not `...options`: the transport has no use for the auth token and should not hold it.
        const transport = new TelnyxMediaTransport(socket, sequenceNumber, start, format, {
          clock: options.clock,
          closeTimeoutMs: options.closeTimeoutMs,
          maxBufferedAudioFrames: options.maxBufferedAudioFrames,
          outputFormat,
          callControl: options.callControl ?? null,
        });
        return {
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
        };
      },
      error: (code, message) => new TelnyxMediaError(code, message),
    });
  }

  private constructor(
    socket: WebSocket,
    startSequenceNumber: number | null,
    start: TelnyxStart,
    inputFormat: AudioFormat,
    private readonly options: MediaSocketSettings & {
      outputFormat: AudioFormat;
      callControl: CallControl | null;
    },
  ) {
    this.inputFormat = inputFormat;
    this.outputFormat = options.outputFormat;
    this.streamId = start.streamId;
    this.callControlId = start.callControlId;
    const viaRest = options.callControl !== null;
    this.capabilities = { marks: true, sendDtmf: viaRest, transfer: viaRest };
    this.minOutboundBytes = bytesForDurationMs(MIN_OUTBOUND_MS, this.outputFormat);
    this.media = new MediaSocket(socket, options, {
      startSequenceNumber,
      counters: this.counters,
      parse: parseTelnyxMessage,
      sequenceNumberOf: (message) =>
        message.event === 'connected' || message.event === 'unknown' ? null : message.sequenceNumber,
      onMessage: (message) => this.onMessage(message),
      onClose: () => this.media.report({ type: 'hangup', reason: CONNECTION_LOST }),
    });
  }

  /** Counters for logs and metrics (a copy). */
  get stats(): TelnyxMediaStats {
    return { ...this.counters };
  }

  setListener(listener: (event: TransportEvent) => void): void {
    this.media.setListener(listener);
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
    if (this.media.send(telnyxMediaMessage(payload))) this.counters.audioBytesSent += audio.byteLength;
  }

  sendMark(name: string): void {
    this.media.send(telnyxMarkMessage(name));
  }

  clear(): void {
    this.media.send(telnyxClearMessage());
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
   * rethrown after the socket is closed. After a transfer (LEAVING_TRANSFERRED_CALL) the caller is on
   * the new leg, so only the socket is closed.
   */
  async hangUp(reason: string): Promise<void> {
    this.media.end();
    let failure: unknown = null;
    if (this.options.callControl && reason !== LEAVING_TRANSFERRED_CALL) {
      try {
        await this.options.callControl.hangUp(this.callControlId);
      } catch (error) {
        failure = error;
      }
    }
    await this.media.close(CLOSE_NORMAL, 'call ended');
    if (failure !== null) throw failure;
  }

  private requireCallControl(operation: string): CallControl {
    if (!this.options.callControl) {
      throw new Error(`Telnyx media transport: cannot ${operation} without Call Control`);
    }
    return this.options.callControl;
  }

  private onMessage(message: TelnyxInboundMessage): void {
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
        if (audio.byteLength > 0) this.media.report({ type: 'audio', audio });
        return;
      }
      case 'mark':
        this.media.report({ type: 'mark', name: message.name });
        return;
      case 'dtmf':
        this.media.report({ type: 'dtmf', digit: message.digit });
        return;
      case 'error':
        this.counters.carrierErrors++;
        this.counters.lastCarrierErrorCode = message.code;
        return;
      case 'stop':
        // Nothing follows a stop; release the socket now rather than wait for Telnyx to close it.
        this.media.stopped(CALLER_HUNG_UP);
        return;
      case 'connected':
      case 'start':
      case 'unknown':
        this.counters.ignoredMessages++;
        return;
    }
  }
}
