// Exotel AgentStream wire messages for the bidirectional Voicebot applet (reference/wire-protocols.md §2,
// developer.exotel.com/docs/agentstream/websocket-protocol): parsing what Exotel sends and building what
// we send back. Pure functions, no socket; the transport decides what to do with them.
//
// Exotel's JSON uses snake_case and sends every number as a string ("sequence_number": "3",
// "sample_rate": "8000"); both are normalised here.
import type { AudioFormat } from '@parley/voice';
import { isSampleRateHz } from '@parley/voice';

/** `start.media_format` as Exotel sends it (sample rate and bit rate as numbers, when present). */
export interface ExotelMediaFormat {
  /** E.g. `audio/x-raw` (the base guide's 16-bit PCM) or `audio/x-mulaw` (the beta extension). */
  encoding: string;
  sampleRateHz: number | null;
  bitRate: number | null;
}

export interface ExotelStart {
  streamSid: string;
  callSid: string;
  accountSid: string;
  /** The caller's and the called number, as Exotel reports them. Personal data: never log. */
  from: string;
  to: string;
  /** The query parameters of the applet URL (up to three), echoed back. */
  customParameters: Record<string, string>;
  /** Null when Exotel sent no usable `media_format`. */
  mediaFormat: ExotelMediaFormat | null;
}

/** A message from Exotel, narrowed to the fields we use. */
export type ExotelInboundMessage =
  | { event: 'connected' }
  | { event: 'start'; sequenceNumber: number | null; start: ExotelStart }
  | {
      event: 'media';
      sequenceNumber: number | null;
      chunk: number | null;
      /** Milliseconds since the stream started, as Exotel counts them. */
      timestampMs: number | null;
      /** Base64 of raw audio in the stream's media format, no header. */
      payload: string;
    }
  | { event: 'dtmf'; sequenceNumber: number | null; digit: string; durationMs: number | null }
  /** Exotel finished playing everything we sent before the mark of this name. */
  | { event: 'mark'; sequenceNumber: number | null; name: string }
  /** `reason` is `callended` when the caller hung up, `stopped` when the stream was stopped. */
  | { event: 'stop'; sequenceNumber: number | null; reason: string | null }
  /** A well-formed message with an event we do not handle. */
  | { event: 'unknown'; name: string };

export type ExotelParseResult = { ok: true; message: ExotelInboundMessage } | { ok: false; reason: string };

const DTMF_DIGIT = /^[0-9*#A-D]$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

/** Exotel sends numbers as strings; accepts either and rejects anything that is not an integer. */
function integerField(record: Record<string, unknown>, key: string): number | null {
  const raw = record[key];
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  if (typeof raw === 'string' && raw.trim() === '') return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : null;
}

function parseMediaFormat(raw: unknown): ExotelMediaFormat | null {
  if (!isRecord(raw)) return null;
  const encoding = stringField(raw, 'encoding');
  if (!encoding) return null;
  return { encoding, sampleRateHz: integerField(raw, 'sample_rate'), bitRate: integerField(raw, 'bit_rate') };
}

function parseStart(message: Record<string, unknown>): ExotelParseResult {
  const start = message['start'];
  if (!isRecord(start)) return { ok: false, reason: 'start message without a start object' };
  const streamSid = stringField(start, 'stream_sid') ?? stringField(message, 'stream_sid');
  const callSid = stringField(start, 'call_sid');
  if (!streamSid || !callSid) return { ok: false, reason: 'start message lacks stream_sid or call_sid' };
  const customParameters: Record<string, string> = {};
  const rawParameters = start['custom_parameters'];
  if (isRecord(rawParameters)) {
    for (const [key, value] of Object.entries(rawParameters)) {
      if (typeof value === 'string') customParameters[key] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') customParameters[key] = String(value);
    }
  }
  return {
    ok: true,
    message: {
      event: 'start',
      sequenceNumber: integerField(message, 'sequence_number'),
      start: {
        streamSid,
        callSid,
        accountSid: stringField(start, 'account_sid') ?? '',
        from: stringField(start, 'from') ?? '',
        to: stringField(start, 'to') ?? '',
        customParameters,
        mediaFormat: parseMediaFormat(start['media_format']),
      },
    },
  };
}

/** Parses one text frame from Exotel. Never throws: a bad frame is reported with the reason. */
export function parseExotelMessage(text: string): ExotelParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isRecord(parsed)) return { ok: false, reason: 'not a JSON object' };
  const event = parsed['event'];
  if (typeof event !== 'string') return { ok: false, reason: 'no event field' };
  const sequenceNumber = integerField(parsed, 'sequence_number');
  switch (event) {
    case 'connected':
      return { ok: true, message: { event: 'connected' } };
    case 'start':
      return parseStart(parsed);
    case 'media': {
      const media = parsed['media'];
      const payload = isRecord(media) ? stringField(media, 'payload') : undefined;
      if (!isRecord(media) || payload === undefined) return { ok: false, reason: 'media without a payload' };
      return {
        ok: true,
        message: {
          event: 'media',
          sequenceNumber,
          chunk: integerField(media, 'chunk'),
          timestampMs: integerField(media, 'timestamp'),
          payload,
        },
      };
    }
    case 'dtmf': {
      const dtmf = parsed['dtmf'];
      const digit = isRecord(dtmf) ? stringField(dtmf, 'digit') : undefined;
      if (!isRecord(dtmf) || digit === undefined || !DTMF_DIGIT.test(digit)) {
        return { ok: false, reason: 'dtmf without a valid digit' };
      }
      return {
        ok: true,
        message: { event: 'dtmf', sequenceNumber, digit, durationMs: integerField(dtmf, 'duration') },
      };
    }
    case 'mark': {
      const mark = parsed['mark'];
      const name = isRecord(mark) ? stringField(mark, 'name') : undefined;
      if (name === undefined) return { ok: false, reason: 'mark without a name' };
      return { ok: true, message: { event: 'mark', sequenceNumber, name } };
    }
    case 'stop': {
      const stop = parsed['stop'];
      const reason = isRecord(stop) ? (stringField(stop, 'reason') ?? null) : null;
      return { ok: true, message: { event: 'stop', sequenceNumber, reason } };
    }
    default:
      return { ok: true, message: { event: 'unknown', name: event } };
  }
}

/**
 * The audio format a `media_format` names, or null when Parley cannot handle it. The base guide's
 * `audio/x-raw` (also `audio/L16`, `raw`, `slin`) is 16-bit little-endian PCM; the beta extension adds
 * `audio/x-mulaw`. A `;rate=…` suffix is accepted; `sample_rate` wins when both are given.
 */
export function exotelAudioFormat(mediaFormat: ExotelMediaFormat): AudioFormat | null {
  const [type = '', ...parameters] = mediaFormat.encoding.split(';').map((part) => part.trim());
  const rateParameter = parameters.find((part) => part.toLowerCase().startsWith('rate='));
  const sampleRateHz = mediaFormat.sampleRateHz ?? (rateParameter ? Number(rateParameter.slice(5)) : 8000);
  if (!isSampleRateHz(sampleRateHz)) return null;
  switch (type.toLowerCase()) {
    case 'audio/x-raw':
    case 'audio/l16':
    case 'raw':
    case 'slin':
      if (mediaFormat.bitRate !== null && mediaFormat.bitRate !== 16) return null;
      return { encoding: 'pcm16', sampleRateHz, channels: 1 };
    case 'audio/x-mulaw':
    case 'audio/mulaw':
    case 'audio/pcmu':
      return sampleRateHz === 8000 ? { encoding: 'mulaw', sampleRateHz, channels: 1 } : null;
    case 'audio/x-alaw':
    case 'audio/alaw':
    case 'audio/pcma':
      return sampleRateHz === 8000 ? { encoding: 'alaw', sampleRateHz, channels: 1 } : null;
    default:
      return null;
  }
}

function base64(audio: Uint8Array): string {
  return Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64');
}

// The docs name the stream `stream_sid`; pipecat's serializer, used with Exotel in production, sends
// `streamSid`. Sending both satisfies either reading at the cost of a few bytes.

/** Outbound audio in the stream's format. Exotel wants multiples of 320 bytes of at least 100 ms. */
export function exotelMediaMessage(streamSid: string, audio: Uint8Array): string {
  return JSON.stringify({
    event: 'media',
    stream_sid: streamSid,
    streamSid,
    media: { payload: base64(audio) },
  });
}

export function exotelMarkMessage(streamSid: string, name: string): string {
  return JSON.stringify({ event: 'mark', stream_sid: streamSid, streamSid, mark: { name } });
}

export function exotelClearMessage(streamSid: string): string {
  return JSON.stringify({ event: 'clear', stream_sid: streamSid, streamSid });
}
