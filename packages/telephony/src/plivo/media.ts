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
import type { AudioFormat, CallTransport, TransportCapabilities, TransportEvent } from '@parley/voice';
import type { WebSocket } from 'ws';
import type { MediaStreamStart } from '../carrier.js';
import {
  CALLER_HUNG_UP,
  CLOSE_NORMAL,
  CONNECTION_LOST,
  MediaSocket,
  MediaStreamError,
  StartRefusal,
  waitForStart,
  zeroMediaSocketCounters,
} from '../media-socket.js';
import type { MediaSocketCounters, MediaSocketSettings, MediaStartErrorCode } from '../media-socket.js';
import {
  plivoAudioFormat,
  plivoCheckpointMessage,
  plivoClearAudioMessage,
  parsePlivoMessage,
  plivoPlayAudioMessage,
  plivoWireFormat,
} from './messages.js';
import type { PlivoInboundMessage, PlivoStreamStart, PlivoWireFormat } from './messages.js';

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

export type PlivoMediaErrorCode = MediaStartErrorCode;

/** Why a media stream could not be accepted. The socket has already been closed. */
export class PlivoMediaError extends MediaStreamError<PlivoMediaErrorCode> {
  override readonly name = 'PlivoMediaError';

  constructor(
    readonly carrier: 'plivo' | 'vobiz',
    code: PlivoMediaErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

export interface PlivoAcceptOptions extends MediaSocketSettings {
  /** How long to wait for `start` once the socket is open; the carrier sends it at once. */
  startTimeoutMs: number;
}

export interface PlivoAccepted {
  transport: PlivoMediaTransport;
  start: MediaStreamStart;
}

export interface PlivoMediaStats extends MediaSocketCounters {
  /** Checkpoints reported as marks because a clearAudio discarded their audio. */
  checkpointsCleared: number;
}

const CLOSE_GOING_AWAY = 1001;
/** The peer closed without giving a code; still an orderly close, not a dropped connection. */
const CLOSE_NO_STATUS = 1005;

/** A start we can serve, and the format it settled on. */
interface PlivoStarting {
  sequenceNumber: number | null;
  start: PlivoStreamStart;
  format: AudioFormat;
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
  const { label, carrier } = profile;
  return waitForStart(socket, options, {
    label,
    parse: parsePlivoMessage,
    connectedFirst: false,
    inspect: (message): PlivoStarting | StartRefusal<PlivoMediaErrorCode> => {
      const { encoding, sampleRate } = message.start.mediaFormat;
      const format = plivoAudioFormat(message.start.mediaFormat);
      if (!format || !profile.acceptsFormat(format)) {
        return new StartRefusal(
          'unsupported_media_format',
          `unsupported media format ${encoding} ${sampleRate} Hz (${profile.formatHint})`,
        );
      }
      return { sequenceNumber: message.sequenceNumber, start: message.start, format };
    },
    accept: ({ sequenceNumber, start, format }): PlivoAccepted => ({
      transport: new PlivoMediaTransport(socket, sequenceNumber, start, format, { ...options, profile }),
      start: {
        carrierCallId: start.callId,
        streamId: start.streamId,
        customParameters: start.extraHeaders,
        inputFormat: format,
        outputFormat: format,
      },
    }),
    error: (code, message) => new PlivoMediaError(carrier, code, message),
  });
}

interface TransportOptions extends MediaSocketSettings {
  profile: PlivoStreamProfile;
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
  private readonly media: MediaSocket<PlivoInboundMessage>;
  /** Checkpoints sent and not yet played or cleared, oldest first. */
  private checkpoints: string[] = [];
  /** Checkpoints each unacknowledged clearAudio discarded, oldest clear first. */
  private readonly clearedBatches: string[][] = [];
  private readonly counters: PlivoMediaStats = {
    ...zeroMediaSocketCounters(),
    checkpointsCleared: 0,
  };

  /** Plivo's media socket; see acceptPlivoStream for what is refused. */
  static accept(socket: WebSocket, options: PlivoAcceptOptions): Promise<PlivoAccepted> {
    return acceptPlivoStream(socket, options, PLIVO_STREAM_PROFILE);
  }

  /** @internal Use `accept` (or VobizMediaTransport.accept). */
  constructor(
    socket: WebSocket,
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
    this.media = new MediaSocket(socket, options, {
      startSequenceNumber,
      counters: this.counters,
      parse: parsePlivoMessage,
      sequenceNumberOf: (message) => (message.event === 'unknown' ? null : message.sequenceNumber),
      onMessage: (message) => this.onMessage(message),
      onClose: (code) => {
        const clean = code === CLOSE_NORMAL || code === CLOSE_GOING_AWAY || code === CLOSE_NO_STATUS;
        this.media.report({ type: 'hangup', reason: clean ? CALLER_HUNG_UP : CONNECTION_LOST });
      },
    });
  }

  /** Counters for logs and metrics (a copy). */
  get stats(): PlivoMediaStats {
    return { ...this.counters };
  }

  setListener(listener: (event: TransportEvent) => void): void {
    this.media.setListener(listener);
  }

  sendAudio(audio: Uint8Array): void {
    if (audio.byteLength === 0) return;
    if (this.media.send(plivoPlayAudioMessage(this.wireFormat, audio)))
      this.counters.audioBytesSent += audio.byteLength;
  }

  sendMark(name: string): void {
    if (this.media.send(plivoCheckpointMessage(this.streamId, name))) this.checkpoints.push(name);
  }

  clear(): void {
    if (!this.media.send(plivoClearAudioMessage(this.streamId))) return;
    // Checkpoints sent after this clear belong to new audio and must not be released by its ack.
    this.clearedBatches.push(this.checkpoints);
    this.checkpoints = [];
  }

  /** Closes the media socket (see the file comment for what the carrier does next). Reports no hangup. */
  hangUp(_reason: string): Promise<void> {
    return this.media.hangUp();
  }

  private onMessage(message: PlivoInboundMessage): void {
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
        this.media.report({ type: 'dtmf', digit: message.digit });
        return;
      case 'stop':
        this.media.stopped(CALLER_HUNG_UP);
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
    if (audio.byteLength > 0) this.media.report({ type: 'audio', audio });
  }

  private onPlayed(name: string): void {
    const index = this.checkpoints.indexOf(name);
    if (index < 0) {
      // Unknown, or already reported because a clear discarded it.
      this.counters.ignoredMessages++;
      return;
    }
    // Playback is in order: checkpoints before this one have played too, even if their ack was lost.
    for (const played of this.checkpoints.splice(0, index + 1))
      this.media.report({ type: 'mark', name: played });
  }

  private onCleared(): void {
    const batch = this.clearedBatches.shift();
    if (!batch) {
      this.counters.ignoredMessages++;
      return;
    }
    this.counters.checkpointsCleared += batch.length;
    for (const name of batch) this.media.report({ type: 'mark', name });
  }
}
