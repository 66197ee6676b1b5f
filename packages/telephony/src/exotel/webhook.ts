// What Exotel needs from our HTTP side, as pure functions (reference/wire-protocols.md §2):
//
// - Reaching our media URL. A Voicebot applet's URL is either a fixed `wss://` URL or an `https://`
//   endpoint Exotel fetches per call, which answers `{"url": "wss://…"}`; that is how a call gets its
//   own media URL (with our call id and media token as query parameters, which Exotel echoes in
//   `start.custom_parameters`). The Connect Voice AI API (see call-control.ts) takes the wss URL directly.
// - Authentication. Exotel signs nothing: no HMAC on status callbacks, none on the media WebSocket.
//   What it offers is Basic auth (the applet URL `wss://user:password@host/…` is sent as an
//   `Authorization: Basic` header) and IP allow-listing. So we check Basic auth where Exotel sends it,
//   and put an unguessable token in every URL we hand Exotel (callback and stream URLs), checked here
//   in constant time.
// - Status callbacks, normalised to CarrierStatusUpdate.
import { timingSafeEqual } from 'node:crypto';
import type { AnsweredBy, CarrierCallStatus, CarrierStatusUpdate } from '../carrier.js';

/** Exotel echoes at most this many query parameters of an applet URL in `start.custom_parameters`. */
export const EXOTEL_MAX_CUSTOM_PARAMETERS = 3;
/** … and at most this many characters of them. */
export const EXOTEL_MAX_CUSTOM_PARAMETER_CHARS = 256;
/** The Connect Voice AI API's limit on `StreamUrl`. */
export const EXOTEL_MAX_STREAM_URL_CHARS = 600;

export interface ExotelStreamUrlOptions {
  /** 8000 (default), 16000 or 24000; Exotel reads it from the `sample-rate` query parameter. */
  sampleRateHz?: 8000 | 16000 | 24000;
  /** Per-call values echoed back in `start.custom_parameters` (at most 3 pairs, 256 characters). */
  customParameters?: Record<string, string>;
}

/**
 * The media URL for one call: `wssBaseUrl` with the sample rate and custom parameters as query
 * parameters. Throws a RangeError naming the limit when Exotel would truncate or refuse it.
 */
export function buildExotelStreamUrl(wssBaseUrl: string, options: ExotelStreamUrlOptions = {}): string {
  const url = new URL(wssBaseUrl);
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
    throw new RangeError('Exotel stream URL: must start with wss:// or ws://');
  }
  const entries = Object.entries(options.customParameters ?? {});
  if (entries.length > EXOTEL_MAX_CUSTOM_PARAMETERS) {
    throw new RangeError(
      `Exotel stream URL: customParameters has ${entries.length} pairs; Exotel echoes at most 3`,
    );
  }
  const custom = new URLSearchParams(entries).toString();
  if (custom.length > EXOTEL_MAX_CUSTOM_PARAMETER_CHARS) {
    throw new RangeError(
      `Exotel stream URL: customParameters is ${custom.length} characters encoded; Exotel allows 256`,
    );
  }
  for (const [key, value] of entries) url.searchParams.set(key, value);
  if (options.sampleRateHz !== undefined) url.searchParams.set('sample-rate', String(options.sampleRateHz));
  const text = url.toString();
  if (text.length > EXOTEL_MAX_STREAM_URL_CHARS) {
    throw new RangeError(`Exotel stream URL: ${text.length} characters; Exotel allows 600`);
  }
  return text;
}

/** The answer to a Voicebot applet's per-call URL request: where to open the media WebSocket. */
export function exotelStreamUrlResponse(wssUrl: string): { status: 200; contentType: string; body: string } {
  return { status: 200, contentType: 'application/json', body: JSON.stringify({ url: wssUrl }) };
}

/** What Exotel tells us when an applet fetches its per-call URL (GET, call details as query parameters). */
export interface ExotelAppletRequest {
  callSid: string;
  /** Personal data: never log. */
  from: string;
  to: string;
  /** `incoming`, `outbound-dial` or `outbound-api`. */
  direction: string;
  /** The CustomField of the API call that started the call, if any. */
  customField: string | null;
}

function firstValue(
  source: URLSearchParams | Record<string, unknown>,
  ...keys: string[]
): string | undefined {
  for (const key of keys) {
    const value = source instanceof URLSearchParams ? source.get(key) : source[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** Reads an applet URL request; null without a CallSid (not a request from Exotel). */
export function parseExotelAppletRequest(
  query: URLSearchParams | Record<string, unknown>,
): ExotelAppletRequest | null {
  const callSid = firstValue(query, 'CallSid');
  if (!callSid) return null;
  return {
    callSid,
    // Exotel's own articles spell it both `CallFrom` and `Callfrom`.
    from: firstValue(query, 'CallFrom', 'Callfrom', 'From') ?? '',
    to: firstValue(query, 'CallTo', 'To') ?? '',
    direction: firstValue(query, 'Direction') ?? '',
    customField: firstValue(query, 'CustomField') ?? null,
  };
}

function constantTimeEqual(presented: string, expected: string): boolean {
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  // timingSafeEqual needs equal lengths; comparing b with itself keeps the time independent of a.
  if (a.byteLength !== b.byteLength) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Checks an `Authorization: Basic …` header (from `wss://user:password@host/…`) in constant time. */
export function verifyExotelBasicAuth(
  authorization: string | undefined | null,
  expected: { username: string; password: string },
): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match) return false;
  return constantTimeEqual(
    Buffer.from(match[1]!, 'base64').toString('utf8'),
    `${expected.username}:${expected.password}`,
  );
}

/** Checks the secret token we put in a URL given to Exotel, in constant time. */
export function verifyExotelUrlToken(presented: string | undefined | null, expected: string): boolean {
  if (expected === '') throw new RangeError('Exotel URL token: the expected token is empty');
  return constantTimeEqual(presented ?? '', expected);
}

/**
 * A status callback's fields, whatever its encoding: Exotel posts form fields, and JSON when it sends
 * nested data (`Legs`). Returns null for a body that is neither.
 */
export function exotelCallbackFields(
  rawBody: string,
  contentType: string | undefined,
): Record<string, unknown> | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(rawBody);
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }
  if (type === '' || type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(rawBody));
  }
  return null;
}

const STATUS_MAP: Record<string, CarrierCallStatus> = {
  queued: 'queued',
  ringing: 'ringing',
  'in-progress': 'in_progress',
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};

/** EventType when Status is absent: `answered` and `ringing` are states in themselves. */
const EVENT_STATUS_MAP: Record<string, CarrierCallStatus> = { answered: 'in_progress', ringing: 'ringing' };

function answeredByOf(fields: Record<string, unknown>): AnsweredBy | undefined {
  const legs = fields['Legs'];
  const first: unknown = Array.isArray(legs) ? legs[0] : undefined;
  const raw =
    typeof first === 'object' && first !== null
      ? (first as Record<string, unknown>)['AnsweredBy']
      : fields['AnsweredBy'];
  if (typeof raw !== 'string') return undefined;
  const value = raw.toLowerCase();
  // Exotel sends "NA" when it did not run detection: that is no answer to the question, not "unknown".
  if (value === 'human') return 'human';
  if (value === 'machine') return 'machine';
  return undefined;
}

export type ExotelStatusParseResult =
  { ok: true; update: CarrierStatusUpdate } | { ok: false; reason: string };

/** Normalises an Exotel status callback (see exotelCallbackFields). */
export function parseExotelStatusCallback(fields: Record<string, unknown>): ExotelStatusParseResult {
  const callSid = fields['CallSid'];
  if (typeof callSid !== 'string' || callSid === '')
    return { ok: false, reason: 'status callback without CallSid' };
  const rawStatus = typeof fields['Status'] === 'string' ? fields['Status'] : '';
  const eventType = typeof fields['EventType'] === 'string' ? fields['EventType'].toLowerCase() : '';
  const status =
    (eventType === 'answered' ? 'in_progress' : undefined) ??
    STATUS_MAP[rawStatus.toLowerCase()] ??
    EVENT_STATUS_MAP[eventType];
  if (!status) return { ok: false, reason: 'status callback with an unknown Status' };
  const update: CarrierStatusUpdate = {
    carrierCallId: callSid,
    status,
    carrierReason: rawStatus || eventType,
  };
  const duration = Number(fields['ConversationDuration']);
  if (
    fields['ConversationDuration'] !== undefined &&
    fields['ConversationDuration'] !== '' &&
    Number.isFinite(duration)
  ) {
    update.durationSeconds = duration;
  }
  const answeredBy = answeredByOf(fields);
  if (answeredBy) update.answeredBy = answeredBy;
  return { ok: true, update };
}
