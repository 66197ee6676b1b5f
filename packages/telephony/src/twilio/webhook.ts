// Twilio's HTTP side of a call (reference/wire-protocols.md §1.1, §1.4, §1.5): the TwiML documents we
// answer with, the X-Twilio-Signature check for webhooks and for the media WebSocket upgrade, and the
// status / answering-machine callbacks mapped onto the carrier-neutral CarrierStatusUpdate.
// Pure functions over strings: the server's routes own the HTTP plumbing.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AnsweredBy, CarrierCallStatus, CarrierStatusUpdate } from '../carrier.js';

// --- TwiML ---------------------------------------------------------------------------------------------

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** Escapes text for XML content and double- or single-quoted attribute values. */
function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function twimlDocument(verbs: string): string {
  return `${XML_DECLARATION}<Response>${verbs}</Response>`;
}

export interface TwilioConnectStreamOptions {
  /**
   * The media WebSocket URL Twilio opens (`wss://`; `ws://` only works against local simulators).
   * Twilio drops query strings from it, so it must have none: per-call data goes in `parameters`.
   */
  mediaUrl: string;
  /** Delivered in the stream's `start.customParameters` (call id, media token). */
  parameters: Record<string, string>;
  /** Receives the stream's lifecycle callbacks (stream-started, stream-stopped, stream-error). */
  statusCallbackUrl?: string;
}

function checkMediaUrl(mediaUrl: string): void {
  let parsed: URL;
  try {
    parsed = new URL(mediaUrl);
  } catch {
    throw new TypeError('connectStreamTwiml: mediaUrl is not an absolute URL');
  }
  if (parsed.protocol !== 'wss:' && parsed.protocol !== 'ws:') {
    throw new TypeError(`connectStreamTwiml: mediaUrl must be a wss:// URL, got ${parsed.protocol}//`);
  }
  // Twilio strips the query string, so anything put there would silently never arrive.
  if (parsed.search !== '') {
    throw new TypeError(
      'connectStreamTwiml: mediaUrl must not have a query string (Twilio drops it); pass values as parameters',
    );
  }
}

/** The `<Connect><Stream>` element alone, for documents that do something before connecting. */
function connectStreamVerb(options: TwilioConnectStreamOptions): string {
  checkMediaUrl(options.mediaUrl);
  let streamAttributes = `url="${escapeXml(options.mediaUrl)}"`;
  if (options.statusCallbackUrl !== undefined) {
    streamAttributes +=
      ` statusCallback="${escapeXml(options.statusCallbackUrl)}"` + ' statusCallbackMethod="POST"';
  }
  const parameters = Object.entries(options.parameters).map(([name, value]) => {
    if (name === '') throw new TypeError('connectStreamTwiml: a parameter has an empty name');
    return `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`;
  });
  return `<Connect><Stream ${streamAttributes}>${parameters.join('')}</Stream></Connect>`;
}

/**
 * The answer document for a call the agent takes: a bidirectional media stream. Nothing follows the
 * `<Connect>`, so when our server closes the stream the call ends.
 */
export function connectStreamTwiml(options: TwilioConnectStreamOptions): string {
  return twimlDocument(connectStreamVerb(options));
}

/** The answer document for a call we will not take (no agent, over capacity): a message, then hang up. */
export function rejectionTwiml(message: string): string {
  return twimlDocument(`<Say>${escapeXml(message)}</Say><Hangup/>`);
}

/** E.164: a plus and 8 to 15 digits. */
const E164 = /^\+[1-9][0-9]{7,14}$/;

export function isTwilioE164(number: string): boolean {
  return E164.test(number);
}

/** Cold transfer: the call leaves our media stream and dials `to`. */
export function dialNumberTwiml(to: string): string {
  // Not the number itself in the message: it is personal data.
  if (!isTwilioE164(to)) throw new TypeError('dialNumberTwiml: to is not an E.164 number');
  return twimlDocument(`<Dial><Number>${escapeXml(to)}</Number></Dial>`);
}

/**
 * DTMF Twilio can play with `<Play digits>`: 0-9, `*`, `#`, and `w` for a 0.5 s pause. Twilio's
 * attribute table lists digits and `w`; `*` and `#` are what IVRs need and are accepted here.
 */
const PLAYABLE_DIGITS = /^[0-9*#w]{1,64}$/;

export function isTwilioPlayableDtmf(digits: string): boolean {
  return PLAYABLE_DIGITS.test(digits);
}

/**
 * Plays DTMF into the call, then connects a fresh media stream. Updating a live call's TwiML ends
 * the current `<Connect><Stream>` (Twilio closes that WebSocket), so the digits cannot be sent while
 * the agent's stream stays open; the resumed stream arrives as a new WebSocket with its own streamSid
 * and the same parameters.
 */
export function playDigitsThenConnectTwiml(digits: string, resume: TwilioConnectStreamOptions): string {
  if (!isTwilioPlayableDtmf(digits)) {
    throw new TypeError('playDigitsThenConnectTwiml: digits must be 1-64 of 0-9, *, # and w');
  }
  return twimlDocument(`<Play digits="${escapeXml(digits)}"/>${connectStreamVerb(resume)}`);
}

// --- X-Twilio-Signature ----------------------------------------------------------------------------------

/** Form fields as a body parser gives them: repeated names become arrays. */
export type TwilioFormParams = Readonly<Record<string, string | readonly string[] | undefined>>;

function defaultPort(protocol: string): string | null {
  if (protocol === 'https:' || protocol === 'wss:') return '443';
  if (protocol === 'http:' || protocol === 'ws:') return '80';
  return null;
}

/**
 * The URLs a Twilio signature may cover: as given, and normalised with and without the default port.
 * Twilio signs inconsistently (sometimes with `:443`, sometimes without), so twilio-node accepts
 * either. WHATWG URL drops a default port, so the with-port form is rebuilt by hand and every
 * variant is signed as the literal string.
 */
function urlVariants(url: string): string[] {
  const parsed = new URL(url);
  const withoutPort = new URL(parsed.href);
  withoutPort.port = '';
  let withPort = parsed.href;
  const port = defaultPort(parsed.protocol);
  if (parsed.port === '' && port !== null) {
    const credentials =
      parsed.username || parsed.password
        ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@`
        : '';
    withPort = `${parsed.protocol}//${credentials}${parsed.hostname}:${port}${parsed.pathname}${parsed.search}${parsed.hash}`;
  }
  return [...new Set([url, withPort, withoutPort.href])];
}

/**
 * Base64 HMAC-SHA1 (key: the auth token) of the URL, exactly as given, followed by every form field
 * as name + value, names sorted; a repeated field contributes each distinct value, sorted.
 */
export function computeTwilioSignature(
  authToken: string,
  url: string,
  params: TwilioFormParams = {},
): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
    for (const item of values) data += name + item;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function formParams(rawBody: string): Record<string, string[]> {
  // No prototype: a forged field named `__proto__` must be a field like any other, not a crash.
  const params = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of new URLSearchParams(rawBody)) (params[name] ??= []).push(value);
  return params;
}

export interface TwilioSignatureCheck {
  /**
   * The full URL Twilio requested (scheme, host, port, path, query) as the public sees it: build it
   * from the configured public base URL, never from the proxied request.
   */
  url: string;
  /** The `X-Twilio-Signature` header; absent or empty is invalid. */
  signature: string | undefined;
  authToken: string;
  /** Parsed form fields of a form-encoded POST. Omit for GET, or give `rawBody` instead. */
  params?: TwilioFormParams;
  /**
   * The raw request body. When the URL carries `bodySHA256` (JSON-bodied webhooks) the body is checked
   * against that hash; otherwise it is parsed as form fields (when `params` is not given).
   */
  rawBody?: string;
}

/**
 * True when the request was signed by Twilio with this auth token. Accepts the URL with and without
 * its default port, as twilio-node does. Throws only on a missing auth token (a configuration error
 * that must not pass as "invalid signature").
 */
export function validateTwilioSignature(check: TwilioSignatureCheck): boolean {
  if (check.authToken === '') throw new TypeError('validateTwilioSignature: authToken is empty');
  const signature = check.signature;
  if (signature === undefined || signature === '') return false;
  let variants: string[];
  let bodyHash: string | null;
  try {
    variants = urlVariants(check.url);
    bodyHash = new URL(check.url).searchParams.get('bodySHA256');
  } catch {
    return false;
  }

  let params: TwilioFormParams;
  if (bodyHash !== null) {
    // JSON bodies: the signature covers the URL alone (the hash in it stands for the body).
    if (check.rawBody === undefined) return false;
    const actualHash = createHash('sha256').update(check.rawBody, 'utf8').digest('hex');
    if (!constantTimeEqual(actualHash, bodyHash.toLowerCase())) return false;
    params = {};
  } else {
    params = check.params ?? (check.rawBody !== undefined ? formParams(check.rawBody) : {});
  }

  let valid = false;
  // Every variant is computed and compared, so timing does not reveal which one matched.
  for (const variant of variants) {
    if (constantTimeEqual(signature, computeTwilioSignature(check.authToken, variant, params))) valid = true;
  }
  return valid;
}

/**
 * The media WebSocket upgrade carries `X-Twilio-Signature` over the `wss://` URL of the stream with no
 * params. Frameworks see the upgrade as `https://` (or `http://` behind a TLS proxy), so the scheme is
 * rewritten here: pass the public URL of the media endpoint in either form.
 */
export function validateTwilioMediaSignature(check: {
  url: string;
  signature: string | undefined;
  authToken: string;
}): boolean {
  let url: URL;
  try {
    url = new URL(check.url);
  } catch {
    return false;
  }
  const scheme = url.protocol === 'https:' ? 'wss:' : url.protocol === 'http:' ? 'ws:' : url.protocol;
  const wsUrl = scheme + url.href.slice(url.protocol.length);
  return validateTwilioSignature({ url: wsUrl, signature: check.signature, authToken: check.authToken });
}

// --- Status and answering-machine callbacks -------------------------------------------------------------

export type TwilioWebhookErrorCode = 'missing_field' | 'invalid_field';

/** A callback that lacks a field we need or has one we cannot read. Names the field, never its data. */
export class TwilioWebhookError extends Error {
  override readonly name = 'TwilioWebhookError';

  constructor(
    readonly code: TwilioWebhookErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const CALL_STATUSES: Readonly<Record<string, CarrierCallStatus>> = {
  queued: 'queued',
  initiated: 'queued',
  ringing: 'ringing',
  'in-progress': 'in_progress',
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};

const ANSWERED_BY: Readonly<Record<string, AnsweredBy>> = {
  human: 'human',
  machine_start: 'machine',
  machine_end_beep: 'machine',
  machine_end_silence: 'machine',
  machine_end_other: 'machine',
  fax: 'machine',
  unknown: 'unknown',
};

function field(params: TwilioFormParams, name: string): string | undefined {
  const value = params[name];
  const first = typeof value === 'string' ? value : value?.[0];
  return first === undefined || first === '' ? undefined : first;
}

function requiredField(params: TwilioFormParams, name: string): string {
  const value = field(params, name);
  if (value === undefined) {
    throw new TwilioWebhookError('missing_field', name, `Twilio callback: ${name} is missing`);
  }
  return value;
}

function ownProperty<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * A call status callback (or the voice webhook, or an async AMD callback) as a CarrierStatusUpdate.
 * An AMD callback has `AnsweredBy` but no `CallStatus`: the call is answered, so it reads as
 * in_progress. An `AnsweredBy` value Twilio adds later reads as unknown, with its word kept in
 * carrierReason. Throws TwilioWebhookError naming the field when CallSid, CallStatus (and no
 * AnsweredBy) or a readable CallDuration is missing.
 */
export function parseTwilioStatusCallback(params: TwilioFormParams): CarrierStatusUpdate {
  const carrierCallId = requiredField(params, 'CallSid');
  const rawAnsweredBy = field(params, 'AnsweredBy');
  const rawStatus =
    rawAnsweredBy === undefined ? requiredField(params, 'CallStatus') : field(params, 'CallStatus');

  let status: CarrierCallStatus = 'in_progress';
  if (rawStatus !== undefined) {
    const mapped = ownProperty(CALL_STATUSES, rawStatus);
    if (mapped === undefined) {
      throw new TwilioWebhookError(
        'invalid_field',
        'CallStatus',
        `Twilio callback: CallStatus "${rawStatus.slice(0, 40)}" is not a Twilio call status`,
      );
    }
    status = mapped;
  }

  // The carrier's own words, verbatim, for the call record: "no-answer; SipResponseCode=487".
  const reasons: string[] = rawStatus === undefined ? [] : [rawStatus];
  const sipResponseCode = field(params, 'SipResponseCode');
  if (sipResponseCode !== undefined) reasons.push(`SipResponseCode=${sipResponseCode}`);
  if (rawAnsweredBy !== undefined) reasons.push(`AnsweredBy=${rawAnsweredBy}`);
  const update: CarrierStatusUpdate = { carrierCallId, status, carrierReason: reasons.join('; ') };

  if (rawAnsweredBy !== undefined) update.answeredBy = ownProperty(ANSWERED_BY, rawAnsweredBy) ?? 'unknown';
  // DetectMessageEnd's machine verdicts (machine_end_*, fax) come once the greeting is over and are
  // the last word; only Enable's `machine_start` comes while the greeting may still play.
  if (update.answeredBy === 'machine') update.machineGreetingEnded = rawAnsweredBy !== 'machine_start';
  const rawDuration = field(params, 'CallDuration');
  if (rawDuration !== undefined) {
    if (!/^[0-9]+$/.test(rawDuration)) {
      throw new TwilioWebhookError(
        'invalid_field',
        'CallDuration',
        'Twilio callback: CallDuration is not a whole number of seconds',
      );
    }
    update.durationSeconds = Number(rawDuration);
  }
  return update;
}
