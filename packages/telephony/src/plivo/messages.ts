// Plivo audio-stream wire messages (reference/wire-protocols.md §3.1; docs.plivo.com "Stream Event
// Protocol"): parsing what the carrier sends and building what we send back. Vobiz speaks the same
// protocol (§3.2), so both carriers use this file; Vobiz's one audio difference (big-endian L16
// inbound) is handled by its transport, not here. Pure functions, no socket.
import { MULAW_8K } from '@parley/voice';
import type { AudioFormat } from '@parley/voice';

/** `start.mediaFormat` as the carrier sends it. */
export interface PlivoMediaFormat {
  /** `audio/x-mulaw` or `audio/x-l16`. */
  encoding: string;
  sampleRate: number;
}

export interface PlivoStreamStart {
  callId: string;
  streamId: string;
  /** Plivo sends the account's auth id; Vobiz may not. */
  accountId: string | null;
  tracks: string[];
  mediaFormat: PlivoMediaFormat;
  /** The `extraHeaders` of the answer document, echoed back (our call id and media token). */
  extraHeaders: Record<string, string>;
}

/** A message from the carrier, narrowed to the fields we use. */
export type PlivoInboundMessage =
  | { event: 'start'; sequenceNumber: number | null; start: PlivoStreamStart }
  | {
      event: 'media';
      sequenceNumber: number | null;
      track: string;
      /** Base64 of raw audio in the stream's media format, no header. */
      payload: string;
    }
  | { event: 'dtmf'; sequenceNumber: number | null; digit: string }
  /** A checkpoint we sent has played. */
  | { event: 'playedStream'; sequenceNumber: number | null; name: string }
  /** Our clearAudio was carried out. */
  | { event: 'clearedAudio'; sequenceNumber: number | null }
  /**
   * Not in either carrier's documented protocol (both just close the socket), accepted in case a
   * deployment sends one, since it can only mean the stream ended.
   */
  | { event: 'stop'; sequenceNumber: number | null }
  /** A well-formed message with an event we do not handle. */
  | { event: 'unknown'; name: string };

export type PlivoParseResult = { ok: true; message: PlivoInboundMessage } | { ok: false; reason: string };

const DTMF_DIGIT = /^[0-9*#A-D]$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

function sequenceNumberOf(message: Record<string, unknown>): number | null {
  const raw = message['sequenceNumber'];
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Parses the `extra_headers` string. The answer document writes `k1=v1,k2=v2`; Plivo's own example
 * of the echo separates pairs with `;`, so both separators are accepted.
 */
export function parsePlivoExtraHeaders(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of raw.split(/[;,]/)) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    const key = pair.slice(0, equals).trim();
    if (key) headers[key] = pair.slice(equals + 1).trim();
  }
  return headers;
}

function parseStart(message: Record<string, unknown>): PlivoParseResult {
  const start = message['start'];
  if (!isRecord(start)) return { ok: false, reason: 'start message without a start object' };
  // The ids are nested in `start` (Vobiz documents this as a pitfall); top-level copies are a fallback.
  const callId = stringField(start, 'callId') ?? stringField(message, 'callId');
  const streamId = stringField(start, 'streamId') ?? stringField(message, 'streamId');
  if (!callId || !streamId)
    return { ok: false, reason: 'start message lacks start.callId or start.streamId' };
  const format = start['mediaFormat'];
  if (!isRecord(format) || typeof format['encoding'] !== 'string') {
    return { ok: false, reason: 'start message has no valid start.mediaFormat' };
  }
  const sampleRate = Number(format['sampleRate']);
  if (!Number.isSafeInteger(sampleRate) || sampleRate <= 0) {
    return { ok: false, reason: 'start message has no valid start.mediaFormat.sampleRate' };
  }
  const rawTracks = start['tracks'];
  const tracks = Array.isArray(rawTracks)
    ? rawTracks.filter((track): track is string => typeof track === 'string')
    : ['inbound'];
  const rawHeaders = stringField(message, 'extra_headers') ?? stringField(start, 'extra_headers') ?? '';
  return {
    ok: true,
    message: {
      event: 'start',
      sequenceNumber: sequenceNumberOf(message),
      start: {
        callId,
        streamId,
        accountId: stringField(start, 'accountId') ?? null,
        tracks,
        mediaFormat: { encoding: format['encoding'], sampleRate },
        extraHeaders: parsePlivoExtraHeaders(rawHeaders),
      },
    },
  };
}

/** Parses one text frame from Plivo or Vobiz. Never throws: a bad frame is reported with the reason. */
export function parsePlivoMessage(text: string): PlivoParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isRecord(parsed)) return { ok: false, reason: 'not a JSON object' };
  const event = parsed['event'];
  if (typeof event !== 'string') return { ok: false, reason: 'no event field' };
  const sequenceNumber = sequenceNumberOf(parsed);
  switch (event) {
    case 'start':
      return parseStart(parsed);
    case 'media': {
      const media = parsed['media'];
      const payload = isRecord(media) ? stringField(media, 'payload') : undefined;
      if (!isRecord(media) || payload === undefined) return { ok: false, reason: 'media without a payload' };
      const track = stringField(media, 'track') ?? 'inbound';
      return { ok: true, message: { event: 'media', sequenceNumber, track, payload } };
    }
    case 'dtmf': {
      const dtmf = parsed['dtmf'];
      const digit = isRecord(dtmf) ? stringField(dtmf, 'digit') : undefined;
      if (digit === undefined || !DTMF_DIGIT.test(digit)) {
        return { ok: false, reason: 'dtmf without a valid dtmf.digit' };
      }
      return { ok: true, message: { event: 'dtmf', sequenceNumber, digit } };
    }
    // Plivo's support article names the acknowledgement `played`; its protocol reference, `playedStream`.
    case 'played':
    case 'playedStream': {
      const name = stringField(parsed, 'name');
      if (name === undefined) return { ok: false, reason: 'playedStream without a name' };
      return { ok: true, message: { event: 'playedStream', sequenceNumber, name } };
    }
    case 'clearedAudio':
      return { ok: true, message: { event: 'clearedAudio', sequenceNumber } };
    case 'stop':
      return { ok: true, message: { event: 'stop', sequenceNumber } };
    default:
      return { ok: true, message: { event: 'unknown', name: event } };
  }
}

/** The `contentType`/`sampleRate` pair of a stream, as both the answer document and `playAudio` name it. */
export interface PlivoWireFormat {
  contentType: 'audio/x-mulaw' | 'audio/x-l16';
  sampleRate: number;
}

/** Our audio format for a carrier media format, or null if the voice core has no such format. */
export function plivoAudioFormat(format: PlivoMediaFormat): AudioFormat | null {
  if (format.encoding === 'audio/x-mulaw' && format.sampleRate === 8000) return MULAW_8K;
  if (format.encoding === 'audio/x-l16') {
    const rate = format.sampleRate;
    if (rate === 8000 || rate === 16000 || rate === 24000) {
      return { encoding: 'pcm16', sampleRateHz: rate, channels: 1 };
    }
  }
  return null;
}

/** The carrier's name for one of our formats (μ-law 8 kHz or PCM16). */
export function plivoWireFormat(format: AudioFormat): PlivoWireFormat {
  if (format.encoding === 'mulaw' && format.sampleRateHz === 8000) {
    return { contentType: 'audio/x-mulaw', sampleRate: 8000 };
  }
  if (format.encoding === 'pcm16') return { contentType: 'audio/x-l16', sampleRate: format.sampleRateHz };
  throw new RangeError(`no Plivo content type for ${format.encoding}/${format.sampleRateHz}`);
}

/** Outbound audio: base64 of raw audio in the stream's format (L16 little-endian), no header. */
export function plivoPlayAudioMessage(format: PlivoWireFormat, audio: Uint8Array): string {
  const payload = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64');
  return JSON.stringify({
    event: 'playAudio',
    media: { contentType: format.contentType, sampleRate: format.sampleRate, payload },
  });
}

/** Answered with `playedStream` once the audio sent before it has played. */
export function plivoCheckpointMessage(streamId: string, name: string): string {
  return JSON.stringify({ event: 'checkpoint', streamId, name });
}

/** Discards audio queued but not yet played; answered with `clearedAudio`. */
export function plivoClearAudioMessage(streamId: string): string {
  return JSON.stringify({ event: 'clearAudio', streamId });
}
