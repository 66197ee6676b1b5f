// Telnyx Media Streaming WebSocket messages (reference/wire-protocols.md §4, developers.telnyx.com
// "Stream call media over WebSocket"): parsing what Telnyx sends and building what we send back in
// bidirectional `rtp` mode. Pure functions, no socket; the transport decides what to do with them.
//
// Telnyx identifies a stream by `stream_id` at the top level of each frame and the call by
// `start.call_control_id`. Payloads are RTP payloads without the RTP header; L16 is big-endian
// (network order) as RTP requires, unlike Parley's little-endian PCM16.
import type { AudioFormat } from '@parley/voice';
import { isSampleRateHz } from '@parley/voice';

/** `start.media_format` as Telnyx sends it. */
export interface TelnyxMediaFormat {
  /** `PCMU`, `PCMA`, `L16`, `G722`, `OPUS` or `AMR-WB`. */
  encoding: string;
  sampleRateHz: number;
  channels: number;
}

export interface TelnyxStart {
  streamId: string;
  callControlId: string;
  callSessionId: string | null;
  /** The caller's and the called number. Personal data: never log. */
  from: string;
  to: string;
  /** Base64 state we attached to the call (see encodeTelnyxClientState); null when none. */
  clientState: string | null;
  customParameters: Record<string, string>;
  mediaFormat: TelnyxMediaFormat;
}

/** A message from Telnyx, narrowed to the fields we use. */
export type TelnyxInboundMessage =
  /** `authToken` is the stream_auth_token we configured, when we configured one. */
  | { event: 'connected'; authToken: string | null }
  | { event: 'start'; sequenceNumber: number | null; start: TelnyxStart }
  | {
      event: 'media';
      sequenceNumber: number | null;
      /** `inbound` (the caller) or `outbound`; we only ask for the inbound track. */
      track: string;
      chunk: number | null;
      /** Base64 RTP payload in the stream's codec, no RTP header. */
      payload: string;
    }
  | { event: 'dtmf'; sequenceNumber: number | null; digit: string }
  /** Telnyx finished playing the media sent before the mark of this name (or a clear returned it). */
  | { event: 'mark'; sequenceNumber: number | null; name: string }
  | { event: 'error'; sequenceNumber: number | null; code: string | null; title: string | null }
  | { event: 'stop'; sequenceNumber: number | null }
  /** A well-formed message with an event we do not handle. */
  | { event: 'unknown'; name: string };

export type TelnyxParseResult = { ok: true; message: TelnyxInboundMessage } | { ok: false; reason: string };

const DTMF_DIGIT = /^[0-9*#A-D]$/;
const AUTH_TOKEN_FIELD = 'x-telnyx-streaming-auth-token';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

/** Telnyx sends some numbers as strings ("sequence_number": "4") and others as numbers. */
function integerField(record: Record<string, unknown>, key: string): number | null {
  const raw = record[key];
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  if (typeof raw === 'string' && raw.trim() === '') return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : null;
}

function parseStart(message: Record<string, unknown>): TelnyxParseResult {
  const start = message['start'];
  if (!isRecord(start)) return { ok: false, reason: 'start message without a start object' };
  const streamId = stringField(message, 'stream_id') ?? stringField(start, 'stream_id');
  const callControlId = stringField(start, 'call_control_id');
  if (!streamId || !callControlId)
    return { ok: false, reason: 'start message lacks stream_id or call_control_id' };
  const format = start['media_format'];
  const encoding = isRecord(format) ? stringField(format, 'encoding') : undefined;
  const sampleRateHz = isRecord(format) ? integerField(format, 'sample_rate') : null;
  if (!isRecord(format) || !encoding || sampleRateHz === null) {
    return { ok: false, reason: 'start message has no valid media_format' };
  }
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
        streamId,
        callControlId,
        callSessionId: stringField(start, 'call_session_id') ?? null,
        from: stringField(start, 'from') ?? '',
        to: stringField(start, 'to') ?? '',
        clientState: stringField(start, 'client_state') ?? null,
        customParameters,
        mediaFormat: { encoding, sampleRateHz, channels: integerField(format, 'channels') ?? 1 },
      },
    },
  };
}

/** Parses one text frame from Telnyx. Never throws: a bad frame is reported with the reason. */
export function parseTelnyxMessage(text: string): TelnyxParseResult {
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
      return {
        ok: true,
        message: { event: 'connected', authToken: stringField(parsed, AUTH_TOKEN_FIELD) ?? null },
      };
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
          track: stringField(media, 'track') ?? 'inbound',
          chunk: integerField(media, 'chunk'),
          payload,
        },
      };
    }
    case 'dtmf': {
      const dtmf = parsed['dtmf'];
      const digit = isRecord(dtmf) ? stringField(dtmf, 'digit') : undefined;
      if (digit === undefined || !DTMF_DIGIT.test(digit))
        return { ok: false, reason: 'dtmf without a valid digit' };
      return { ok: true, message: { event: 'dtmf', sequenceNumber, digit } };
    }
    case 'mark': {
      const mark = parsed['mark'];
      const name = isRecord(mark) ? stringField(mark, 'name') : undefined;
      if (name === undefined) return { ok: false, reason: 'mark without a name' };
      return { ok: true, message: { event: 'mark', sequenceNumber, name } };
    }
    case 'error': {
      const payload = parsed['payload'];
      const details = isRecord(payload) ? payload : {};
      const code = details['code'];
      return {
        ok: true,
        message: {
          event: 'error',
          sequenceNumber,
          code: typeof code === 'string' || typeof code === 'number' ? String(code) : null,
          title: stringField(details, 'title') ?? null,
        },
      };
    }
    case 'stop':
      return { ok: true, message: { event: 'stop', sequenceNumber } };
    default:
      return { ok: true, message: { event: 'unknown', name: event } };
  }
}

/** Codecs Parley can carry without a codec library: G.711 and L16 (converted to little-endian). */
export type TelnyxSupportedCodec = 'PCMU' | 'PCMA' | 'L16';

/** The audio format a `media_format` names, or null when Parley cannot handle it (G722, OPUS, AMR-WB). */
export function telnyxAudioFormat(mediaFormat: TelnyxMediaFormat): AudioFormat | null {
  if (mediaFormat.channels !== 1 || !isSampleRateHz(mediaFormat.sampleRateHz)) return null;
  const sampleRateHz = mediaFormat.sampleRateHz;
  switch (mediaFormat.encoding.toUpperCase()) {
    case 'PCMU':
      return sampleRateHz === 8000 ? { encoding: 'mulaw', sampleRateHz, channels: 1 } : null;
    case 'PCMA':
      return sampleRateHz === 8000 ? { encoding: 'alaw', sampleRateHz, channels: 1 } : null;
    case 'L16':
      return { encoding: 'pcm16', sampleRateHz, channels: 1 };
    default:
      return null;
  }
}

/** Swaps the bytes of each 16-bit sample: big-endian L16 <-> Parley's little-endian PCM16. */
export function swapPcm16ByteOrder(audio: Uint8Array): Buffer {
  const swapped = Buffer.alloc(audio.byteLength - (audio.byteLength % 2));
  for (let i = 0; i + 1 < audio.byteLength; i += 2) {
    swapped[i] = audio[i + 1]!;
    swapped[i + 1] = audio[i]!;
  }
  return swapped;
}

/**
 * Per-call parameters as a `client_state` value: base64 of a URL-encoded query string. Telnyx echoes
 * client_state in the stream's `start` and in every webhook of the call, so the call is recognised in
 * both without a lookup by Telnyx's ids.
 */
export function encodeTelnyxClientState(parameters: Record<string, string>): string {
  return Buffer.from(new URLSearchParams(parameters).toString(), 'utf8').toString('base64');
}

/** The parameters encoded by encodeTelnyxClientState; `{}` for a client_state set some other way. */
export function decodeTelnyxClientState(clientState: string | null | undefined): Record<string, string> {
  if (!clientState) return {};
  const text = Buffer.from(clientState, 'base64').toString('utf8');
  // Anything else (another application's state, or not base64 at all) is not ours to interpret.
  if (!/^[\w.~%+\-*]+=[\w.~%+\-*]*(&[\w.~%+\-*]+=[\w.~%+\-*]*)*$/.test(text)) return {};
  return Object.fromEntries(new URLSearchParams(text));
}

function base64(audio: Uint8Array): string {
  return Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64');
}

/** Outbound audio (rtp mode): a base64 RTP payload in the bidirectional codec, 20 ms to 30 s long. */
export function telnyxMediaMessage(payload: Uint8Array): string {
  return JSON.stringify({ event: 'media', media: { payload: base64(payload) } });
}

export function telnyxMarkMessage(name: string): string {
  return JSON.stringify({ event: 'mark', mark: { name } });
}

export function telnyxClearMessage(): string {
  return JSON.stringify({ event: 'clear' });
}
