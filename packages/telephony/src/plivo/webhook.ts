// Plivo's HTTP side (wire-protocols.md §3.1): the XML documents we answer its webhooks with, the
// X-Plivo-Signature-V3 check of its requests, and status/hangup callbacks normalised to
// CarrierStatusUpdate. Vobiz reuses the documents and the callback parsing (vobiz/webhook.ts); only
// its signature scheme differs. Pure functions: the server routes call them.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { MULAW_8K } from '@parley/voice';
import type { AudioFormat } from '@parley/voice';
import type { AnsweredBy, CarrierCallStatus, CarrierStatusUpdate } from '../carrier.js';
import { plivoWireFormat } from './messages.js';

/** An XML document to send as the webhook's response body. */
export interface PlivoAnswerDocument {
  contentType: 'application/xml';
  body: string;
}

export interface PlivoStreamDocumentOptions {
  /** Our media WebSocket URL (`wss://…`; `ws://` only for local tests). */
  mediaUrl: string;
  /** Echoed in the stream's `start` message: our call id and media token. Letters and digits only. */
  extraHeaders: Record<string, string>;
  /** Default μ-law 8 kHz, the one format every profile accepts. */
  format?: AudioFormat;
  /** Receives StartStream / StopStream / DroppedStream. */
  statusCallbackUrl?: string;
  /** Default: the carrier's own (24 h). */
  streamTimeoutSeconds?: number;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
/** The carriers allow only these characters in `extraHeaders` keys and values. */
const EXTRA_HEADER_TOKEN = /^[A-Za-z0-9]+$/;
const EXTRA_HEADERS_MAX_BYTES = 512;

function escapePlivoXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapePlivoXml(String(value))}"`)
    .join('');
}

/** `k1=v1,k2=v2`, checked against the carriers' limits. Throws RangeError naming the bad key. */
export function encodePlivoExtraHeaders(headers: Record<string, string>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (!EXTRA_HEADER_TOKEN.test(key))
      throw new RangeError(`extraHeaders key "${key}" must be letters and digits`);
    // The value may be a token: name the key only.
    if (!EXTRA_HEADER_TOKEN.test(value)) {
      throw new RangeError(`extraHeaders value of "${key}" must be non-empty letters and digits`);
    }
    pairs.push(`${key}=${value}`);
  }
  const encoded = pairs.join(',');
  if (Buffer.byteLength(encoded) > EXTRA_HEADERS_MAX_BYTES) {
    throw new RangeError(`extraHeaders are ${Buffer.byteLength(encoded)} bytes, the limit is 512`);
  }
  return encoded;
}

/**
 * The `<Stream>` answer document, with carrier-specific extra attributes (Vobiz's `maxRetries`).
 * Bidirectional streaming requires `audioTrack="inbound"`; `keepCallAlive` keeps the call on the
 * stream until the socket closes (without it, the document ends and the call hangs up at once).
 */
export function plivoStreamDocument(
  options: PlivoStreamDocumentOptions,
  extra: Record<string, string | number | undefined> = {},
): PlivoAnswerDocument {
  const wire = plivoWireFormat(options.format ?? MULAW_8K);
  const attrs = attributes({
    bidirectional: 'true',
    audioTrack: 'inbound',
    keepCallAlive: 'true',
    contentType: `${wire.contentType};rate=${wire.sampleRate}`,
    streamTimeout: options.streamTimeoutSeconds,
    statusCallbackUrl: options.statusCallbackUrl,
    statusCallbackMethod: options.statusCallbackUrl ? 'POST' : undefined,
    extraHeaders: encodePlivoExtraHeaders(options.extraHeaders),
    ...extra,
  });
  return {
    contentType: 'application/xml',
    body: `${XML_DECLARATION}<Response><Stream${attrs}>${escapePlivoXml(options.mediaUrl)}</Stream></Response>`,
  };
}

/** Answers a call by streaming it to our media socket. */
export function buildPlivoStreamDocument(options: PlivoStreamDocumentOptions): PlivoAnswerDocument {
  return plivoStreamDocument(options);
}

export interface PlivoRejectDocumentOptions {
  /** Spoken to the caller before hanging up ("This number is not taking calls right now."). */
  message: string;
  /** `<Speak voice>`, e.g. WOMAN or MAN; the carrier's default if omitted. */
  voice?: string;
  /** `<Speak language>`, e.g. en-US. */
  language?: string;
}

/** A polite refusal: speaks the message, then hangs up. */
export function buildPlivoRejectDocument(options: PlivoRejectDocumentOptions): PlivoAnswerDocument {
  const speak = attributes({ voice: options.voice, language: options.language });
  return {
    contentType: 'application/xml',
    body: `${XML_DECLARATION}<Response><Speak${speak}>${escapePlivoXml(options.message)}</Speak><Hangup/></Response>`,
  };
}

export interface PlivoDialDocumentOptions {
  /** E.164 number to connect the caller to. */
  to: string;
  /** Caller id shown to the transfer target; the carrier's default (the caller's number) if omitted. */
  callerId?: string;
}

/** The document a cold transfer points the call at: dial the target, then end when they hang up. */
export function buildPlivoDialDocument(options: PlivoDialDocumentOptions): PlivoAnswerDocument {
  const dial = attributes({ callerId: options.callerId });
  return {
    contentType: 'application/xml',
    body: `${XML_DECLARATION}<Response><Dial${dial}><Number>${escapePlivoXml(options.to)}</Number></Dial></Response>`,
  };
}

// --- signatures ------------------------------------------------------------------------------------

export type PlivoRequestParams = Record<string, string | string[]>;
export type PlivoRequestHeaders = Record<string, string | string[] | undefined>;

export interface PlivoSignedRequest {
  /** The full public URL the carrier requested (configured public base URL, not the proxied one). */
  url: string;
  method: string;
  /** Form fields of a POST body; `{}` for GET (its parameters are in the URL). */
  params: PlivoRequestParams;
  headers: PlivoRequestHeaders;
  authToken: string;
}

/** A header's value, case-insensitively; the first if repeated. */
export function plivoHeaderValue(headers: PlivoRequestHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function valuesOf(value: string | string[]): string[] {
  return (Array.isArray(value) ? [...value] : [value]).sort();
}

/**
 * The string Plivo signs (plivo-node `utils/v3Security.js`), without the nonce: the URL rebuilt from
 * scheme, host and path; GET appends the URL's query merged with `params`, sorted, as `?k=v&k2=v2`;
 * POST appends `?`, the sorted query and a `.` if there was one, then the sorted POST fields as
 * `keyvaluekeyvalue`.
 */
export function plivoSignatureBase(url: string, method: string, params: PlivoRequestParams): string {
  const parsed = new URL(url);
  const base = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  const query: Record<string, string[]> = {};
  for (const [key, value] of parsed.searchParams) (query[key] ??= []).push(value);
  const sortedQuery = (entries: Record<string, string[]>): string =>
    Object.keys(entries)
      .sort()
      .flatMap((key) => valuesOf(entries[key]!).map((value) => `${key}=${value}`))
      .join('&');
  if (method.toUpperCase() === 'GET') {
    for (const [key, value] of Object.entries(params)) (query[key] ??= []).push(...valuesOf(value));
    const queryString = sortedQuery(query);
    return queryString ? `${base}?${queryString}` : base;
  }
  const queryString = sortedQuery(query);
  const keys = Object.keys(params).sort();
  let signed = base;
  if (queryString || keys.length > 0) signed += `?${queryString}`;
  if (queryString && keys.length > 0) signed += '.';
  for (const key of keys) for (const value of valuesOf(params[key]!)) signed += `${key}${value}`;
  return signed;
}

/** base64(HMAC-SHA256(authToken, base + "." + nonce)). */
export function computePlivoSignatureV3(authToken: string, base: string, nonce: string): string {
  return createHmac('sha256', authToken).update(`${base}.${nonce}`).digest('base64');
}

/** Compares without leaking, through timing, how much of the signature matched (or its length). */
function constantTimeEqual(a: string, b: string): boolean {
  // Equal-length digests make timingSafeEqual usable for inputs of any length.
  const digestA = createHash('sha256').update(a).digest();
  const digestB = createHash('sha256').update(b).digest();
  return timingSafeEqual(digestA, digestB);
}

/** True if any signature in `header` (comma-separated) equals `expected`; checks every one. */
export function plivoSignaturesMatch(header: string, expected: string): boolean {
  let matched = false;
  for (const candidate of header.split(',')) {
    if (constantTimeEqual(candidate.trim(), expected)) matched = true;
  }
  return matched;
}

/**
 * Checks `X-Plivo-Signature-V3` (with `X-Plivo-Signature-V3-Nonce`). False when either header is
 * missing, the method is neither GET nor POST, or no signature matches.
 */
export function verifyPlivoSignature(request: PlivoSignedRequest): boolean {
  const signature = plivoHeaderValue(request.headers, 'x-plivo-signature-v3');
  const nonce = plivoHeaderValue(request.headers, 'x-plivo-signature-v3-nonce');
  if (!signature || !nonce || !request.authToken) return false;
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST') return false;
  let base: string;
  try {
    base = plivoSignatureBase(request.url, method, request.params);
  } catch {
    return false;
  }
  return plivoSignaturesMatch(signature, computePlivoSignatureV3(request.authToken, base, nonce));
}

/** Signature headers for a request, as Plivo would send them (for simulators and tests). */
export function signPlivoRequest(
  authToken: string,
  url: string,
  method: string,
  params: PlivoRequestParams,
  nonce: string,
): Record<string, string> {
  const base = plivoSignatureBase(url, method, params);
  return {
    'X-Plivo-Signature-V3': computePlivoSignatureV3(authToken, base, nonce),
    'X-Plivo-Signature-V3-Nonce': nonce,
  };
}

// --- callbacks -------------------------------------------------------------------------------------

/** A status update with the Plivo-family fields the neutral one has no place for. */
export interface PlivoStatusUpdate extends CarrierStatusUpdate {
  /**
   * Plivo's createCall returns a request_uuid, and callbacks name the call by CallUUID; the
   * RequestUUID here ties the two together. (Vobiz's request_uuid is the call uuid.)
   */
  requestUuid?: string;
  /** The callback's `Event` (Ring, StartApp, Hangup, MachineDetection, …) when present. */
  event?: string;
}

export type PlivoStatusParseResult = { ok: true; update: PlivoStatusUpdate } | { ok: false; reason: string };

/** The carriers' CallStatus values (docs.plivo.com "XML request", docs.vobiz.ai "call-status"). */
export const PLIVO_CALL_STATUSES: Readonly<Record<string, CarrierCallStatus>> = {
  queued: 'queued',
  ringing: 'ringing',
  'in-progress': 'in_progress',
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  // "A timeout while connecting your call" (carrier or network trouble), not an unanswered ring.
  timeout: 'failed',
  failed: 'failed',
  cancel: 'canceled',
  canceled: 'canceled',
};

const ENDED: ReadonlySet<CarrierCallStatus> = new Set([
  'completed',
  'busy',
  'no_answer',
  'failed',
  'canceled',
]);

function first(params: PlivoRequestParams, key: string): string | undefined {
  const value = params[key];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

function answeredByOf(machine: string | undefined): AnsweredBy | undefined {
  if (machine === undefined) return undefined;
  if (machine.toLowerCase() === 'true') return 'machine';
  if (machine.toLowerCase() === 'false') return 'human';
  return 'unknown';
}

/**
 * Normalises a ring, hangup, status or machine-detection callback (form fields). The carrier's reason
 * is its hangup cause when the call ended (HangupCauseName, else HangupCause), otherwise its status.
 */
export function parsePlivoStatusCallback(params: PlivoRequestParams): PlivoStatusParseResult {
  const carrierCallId = first(params, 'CallUUID');
  if (!carrierCallId) return { ok: false, reason: 'callback without CallUUID' };
  const event = first(params, 'Event');
  const rawStatus = first(params, 'CallStatus');
  const machine = first(params, 'Machine');
  // Machine detection reports on a live call; its CallStatus is in-progress when present at all.
  const status = rawStatus
    ? PLIVO_CALL_STATUSES[rawStatus.toLowerCase()]
    : event === 'MachineDetection'
      ? 'in_progress'
      : undefined;
  if (!status) {
    return {
      ok: false,
      reason: rawStatus ? `unknown CallStatus "${rawStatus}"` : 'callback without CallStatus',
    };
  }
  const hangupCause = first(params, 'HangupCauseName') ?? first(params, 'HangupCause');
  const carrierReason =
    event === 'MachineDetection'
      ? `MachineDetection Machine=${machine ?? 'unknown'}`
      : ENDED.has(status) && hangupCause
        ? hangupCause
        : (rawStatus ?? status);
  const update: PlivoStatusUpdate = { carrierCallId, status, carrierReason };
  const answeredBy = answeredByOf(machine);
  if (answeredBy) update.answeredBy = answeredBy;
  // Plivo's detection reports no greeting end (no beep detection), and its verdict usually comes while
  // the greeting still plays: machineGreetingEnded stays absent (unknown), never true.
  const duration = Number(first(params, 'Duration'));
  if (first(params, 'Duration') !== undefined && Number.isFinite(duration) && duration >= 0) {
    update.durationSeconds = duration;
  }
  const requestUuid = first(params, 'RequestUUID') ?? first(params, 'ALegRequestUUID');
  if (requestUuid) update.requestUuid = requestUuid;
  if (event) update.event = event;
  return { ok: true, update };
}

/** The answer webhook's fields we route on. Phone numbers are for routing only: never log them. */
export interface PlivoAnswerRequest {
  carrierCallId: string;
  from: string;
  to: string;
  direction: 'inbound' | 'outbound';
}

export function parsePlivoAnswerRequest(
  params: PlivoRequestParams,
): { ok: true; request: PlivoAnswerRequest } | { ok: false; reason: string } {
  const carrierCallId = first(params, 'CallUUID');
  const from = first(params, 'From');
  const to = first(params, 'To');
  if (!carrierCallId || !from || !to)
    return { ok: false, reason: 'answer request lacks CallUUID, From or To' };
  const direction = first(params, 'Direction') === 'outbound' ? 'outbound' : 'inbound';
  return { ok: true, request: { carrierCallId, from, to, direction } };
}
