// Twilio Media Streams (bidirectional `<Connect><Stream>`) as a CallTransport: the server side of the
// WebSocket Twilio opens to us. `accept` waits for the stream's `start`, then inbound JSON frames become
// TransportEvents and the session's audio, marks and clears become Twilio messages.
//
// Hanging up closes the WebSocket. Twilio then continues with the TwiML after `<Connect>` (nothing, in
// the answer documents we generate, so the call ends); a REST hang-up (`Status=completed`) belongs to
// call-control and is not done here.
import { MULAW_8K } from '@parley/voice';
import type { AudioFormat, CallTransport, TransportCapabilities, TransportEvent } from '@parley/voice';
import type { WebSocket } from 'ws';
import {
  CALLER_HUNG_UP,
  CONNECTION_LOST,
  MediaSocket,
  MediaStreamError,
  StartRefusal,
  waitForStart,
  zeroMediaSocketCounters,
} from '../media-socket.js';
import type { MediaSocketCounters, MediaSocketSettings, MediaStartErrorCode } from '../media-socket.js';
import { clearMessage, markMessage, mediaMessage, parseTwilioMessage } from './messages.js';
import type { TwilioInboundMessage, TwilioMediaFormat, TwilioStart } from './messages.js';

export type TwilioMediaErrorCode = MediaStartErrorCode;

/** Why a media stream could not be accepted. The socket has already been closed. */
export class TwilioMediaError extends MediaStreamError<TwilioMediaErrorCode> {
  override readonly name = 'TwilioMediaError';
}

export interface TwilioAcceptOptions extends MediaSocketSettings {
  /** How long to wait for `start` once the socket is open; Twilio sends it at once. */
  startTimeoutMs: number;
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

export type TwilioMediaStats = MediaSocketCounters;

/** The only format Twilio streams; anything else means a misconfigured stream. */
const SUPPORTED_FORMAT: TwilioMediaFormat = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 };

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

  private readonly media: MediaSocket<TwilioInboundMessage>;
  private readonly counters: TwilioMediaStats = zeroMediaSocketCounters();

  /**
   * Waits for the stream's `start` on a freshly accepted socket. Rejects with a TwilioMediaError (and
   * closes the socket) on a malformed message, an event other than `connected` before `start`, a media
   * format other than μ-law 8 kHz mono, a timeout, or the socket closing first.
   */
  static accept(socket: WebSocket, options: TwilioAcceptOptions): Promise<TwilioAccepted> {
    return waitForStart(socket, options, {
      label: 'Twilio',
      parse: parseTwilioMessage,
      connectedFirst: true,
      inspect: (message) => {
        if (!isSupportedFormat(message.start.mediaFormat)) {
          const { encoding, sampleRate, channels } = message.start.mediaFormat;
          return new StartRefusal(
            'unsupported_media_format',
            `unsupported media format ${encoding} ${sampleRate} Hz ${channels} ch`,
          );
        }
        return message;
      },
      accept: ({ sequenceNumber, start }): TwilioAccepted => ({
        transport: new TwilioMediaTransport(socket, sequenceNumber, start, options),
        start: {
          streamSid: start.streamSid,
          callSid: start.callSid,
          accountSid: start.accountSid,
          customParameters: start.customParameters,
          mediaFormat: start.mediaFormat,
        },
      }),
      error: (code, message) => new TwilioMediaError(code, message),
    });
  }

  private constructor(
    socket: WebSocket,
    startSequenceNumber: number | null,
    start: TwilioStart,
    options: TwilioAcceptOptions,
  ) {
    this.streamSid = start.streamSid;
    this.media = new MediaSocket(socket, options, {
      startSequenceNumber,
      counters: this.counters,
      parse: parseTwilioMessage,
      sequenceNumberOf: (message) =>
        message.event === 'connected' || message.event === 'unknown' ? null : message.sequenceNumber,
      onMessage: (message) => this.onMessage(message),
      onClose: () => this.media.report({ type: 'hangup', reason: CONNECTION_LOST }),
    });
  }

  /** Counters for logs and metrics (a copy). */
  get stats(): TwilioMediaStats {
    return { ...this.counters };
  }

  setListener(listener: (event: TransportEvent) => void): void {
    this.media.setListener(listener);
  }

  sendAudio(audio: Uint8Array): void {
    if (audio.byteLength === 0) return;
    if (this.media.send(mediaMessage(this.streamSid, audio)))
      this.counters.audioBytesSent += audio.byteLength;
  }

  sendMark(name: string): void {
    this.media.send(markMessage(this.streamSid, name));
  }

  clear(): void {
    this.media.send(clearMessage(this.streamSid));
  }

  /** Closes the media socket (see the file comment for what Twilio does next). Reports no hangup event. */
  hangUp(_reason: string): Promise<void> {
    return this.media.hangUp();
  }

  private onMessage(message: TwilioInboundMessage): void {
    switch (message.event) {
      case 'media': {
        if (message.track !== 'inbound') {
          this.counters.ignoredMessages++;
          return;
        }
        const audio = Buffer.from(message.payload, 'base64');
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
      case 'stop':
        // Nothing follows a stop; release the socket now rather than wait for Twilio to close it.
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
