// What Telnyx needs from our HTTP side, as pure functions (reference/wire-protocols.md §4):
//
// - Reaching our media URL. We use Call Control, not TeXML: Telnyx documents bidirectional RTP
//   streaming (`stream_bidirectional_mode: rtp`, which we need to play audio back) as a Call Control
//   feature, and Call Control attaches the stream when a call is dialled (`POST /v2/calls`) or answered
//   (`actions/answer`) — no separate streaming_start round trip and no answer document. An inbound
//   call arrives as a `call.initiated` webhook; we answer it with telnyxStreamingParams() (see
//   TelnyxCallControl.answer). Per-call data travels in `client_state`, which Telnyx echoes in the
//   stream's `start` and in every webhook of the call.
// - Authentication. Every webhook is signed with Ed25519 over `${telnyx-timestamp}|${raw body}`; the
//   signature is in `telnyx-signature-ed25519` (base64) and the key is the account's public key
//   (base64, from the portal). A timestamp more than five minutes off is refused against replays, as
//   Telnyx's SDKs do. The media socket is authenticated with a `stream_auth_token`.
// - Webhook events, normalised to CarrierStatusUpdate.
import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { AnsweredBy, CarrierCallStatus, CarrierStatusUpdate } from '../carrier.js';
import { decodeTelnyxClientState, encodeTelnyxClientState } from './messages.js';
import type { TelnyxSupportedCodec } from './messages.js';

export const TELNYX_SIGNATURE_HEADER = 'telnyx-signature-ed25519';
export const TELNYX_TIMESTAMP_HEADER = 'telnyx-timestamp';
/** Telnyx's SDKs accept a timestamp up to five minutes from now. */
export const TELNYX_DEFAULT_TOLERANCE_SECONDS = 300;

export interface TelnyxStreamingOptions {
  /** The codec both ways; default PCMU (8 kHz μ-law, no transcoding anywhere). */
  codec?: TelnyxSupportedCodec;
  /** For L16 only: 8000 (default), 16000, 24000 or 48000. */
  sampleRateHz?: 8000 | 16000 | 24000 | 48000;
  /** Repeated by Telnyx in the stream's `connected` frame and `x-telnyx-streaming-auth-token` header. */
  streamAuthToken?: string;
  /** Per-call parameters, sent as client_state (see encodeTelnyxClientState). */
  clientState?: Record<string, string>;
}

/**
 * The streaming fields of a dial or answer command: our media URL, the caller's track only, the same
 * codec both ways, and RTP (not MP3) playback so the session's 20 ms frames can be streamed back.
 */
export function telnyxStreamingParams(
  streamUrl: string,
  options: TelnyxStreamingOptions = {},
): Record<string, unknown> {
  const url = new URL(streamUrl);
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') {
    throw new RangeError('Telnyx stream URL: must start with wss:// or ws://');
  }
  const codec = options.codec ?? 'PCMU';
  const params: Record<string, unknown> = {
    stream_url: streamUrl,
    stream_track: 'inbound_track',
    stream_codec: codec,
    stream_bidirectional_mode: 'rtp',
    stream_bidirectional_codec: codec,
  };
  if (codec === 'L16') params['stream_bidirectional_sampling_rate'] = options.sampleRateHz ?? 8000;
  if (options.streamAuthToken !== undefined) params['stream_auth_token'] = options.streamAuthToken;
  if (options.clientState && Object.keys(options.clientState).length > 0) {
    params['client_state'] = encodeTelnyxClientState(options.clientState);
  }
  return params;
}

export type TelnyxSignatureFailure =
  | 'missing_signature'
  | 'missing_timestamp'
  | 'bad_timestamp'
  | 'stale_timestamp'
  | 'bad_signature'
  | 'bad_public_key';

export interface TelnyxSignatureInput {
  /** The request body exactly as received (not re-serialised JSON). */
  rawBody: string | Buffer;
  signature: string | undefined | null;
  timestamp: string | undefined | null;
  /** The account's Ed25519 public key: base64 of its 32 raw bytes (as the portal shows it) or a KeyObject. */
  publicKey: string | KeyObject;
  /** Unix seconds now; default Date.now(). */
  nowSeconds?: number;
  toleranceSeconds?: number;
}

/** The KeyObject for a base64 raw Ed25519 public key; null when it is not one. */
export function telnyxPublicKey(base64Key: string): KeyObject | null {
  const raw = Buffer.from(base64Key, 'base64');
  if (raw.byteLength !== 32) return null;
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}

/** Verifies a Telnyx webhook's Ed25519 signature and timestamp. Never throws. */
export function verifyTelnyxSignature(
  input: TelnyxSignatureInput,
): { ok: true } | { ok: false; reason: TelnyxSignatureFailure } {
  if (!input.signature) return { ok: false, reason: 'missing_signature' };
  if (!input.timestamp) return { ok: false, reason: 'missing_timestamp' };
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const nowSeconds = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? TELNYX_DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - Number(input.timestamp)) > tolerance)
    return { ok: false, reason: 'stale_timestamp' };
  const key = typeof input.publicKey === 'string' ? telnyxPublicKey(input.publicKey) : input.publicKey;
  if (!key || key.asymmetricKeyType !== 'ed25519') return { ok: false, reason: 'bad_public_key' };
  const signature = Buffer.from(input.signature, 'base64');
  if (signature.byteLength !== 64) return { ok: false, reason: 'bad_signature' };
  const body = typeof input.rawBody === 'string' ? Buffer.from(input.rawBody, 'utf8') : input.rawBody;
  const signed = Buffer.concat([Buffer.from(`${input.timestamp}|`, 'utf8'), body]);
  try {
    return verify(null, signed, key, signature) ? { ok: true } : { ok: false, reason: 'bad_signature' };
  } catch {
    return { ok: false, reason: 'bad_signature' };
  }
}

/** A Call Control webhook, narrowed to what Parley uses. */
export interface TelnyxWebhookEvent {
  /** Telnyx's event id (for de-duplicating redeliveries). */
  id: string;
  /** E.g. `call.initiated`, `call.answered`, `call.hangup`, `call.machine.detection.ended`. */
  eventType: string;
  occurredAt: string | null;
  callControlId: string | null;
  callSessionId: string | null;
  /** `incoming` or `outgoing`, on call.initiated. */
  direction: string | null;
  /** Personal data: never log. */
  from: string | null;
  to: string | null;
  /** Our per-call parameters from client_state (`{}` when none). */
  clientState: Record<string, string>;
  /** The call's new state, for events that change it; null for the others (streaming.*, dtmf, …). */
  update: CarrierStatusUpdate | null;
}

export type TelnyxWebhookParseResult =
  { ok: true; event: TelnyxWebhookEvent } | { ok: false; reason: string };

/** `call.hangup` causes (Telnyx's enum) onto our statuses; unknown causes fall back on the SIP code. */
const HANGUP_STATUS: Record<string, CarrierCallStatus> = {
  normal_clearing: 'completed',
  time_limit: 'completed',
  user_busy: 'busy',
  call_rejected: 'busy',
  timeout: 'no_answer',
  no_answer: 'no_answer',
  originator_cancel: 'canceled',
  not_found: 'failed',
};

const AMD_RESULT: Record<string, AnsweredBy> = {
  human: 'human',
  human_residence: 'human',
  human_business: 'human',
  machine: 'machine',
  fax_detected: 'machine',
  not_sure: 'unknown',
  silence: 'unknown',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(record: Record<string, unknown>, key: string): string | null {
  const value = record[key];
  return typeof value === 'string' ? value : null;
}

function hangupUpdate(callControlId: string, payload: Record<string, unknown>): CarrierStatusUpdate {
  const cause = stringOrNull(payload, 'hangup_cause') ?? 'unspecified';
  const sipCode = stringOrNull(payload, 'sip_hangup_cause');
  let status = HANGUP_STATUS[cause];
  if (!status) {
    // `unspecified` and causes added later: a SIP failure code says failed, anything else ended normally.
    const code = sipCode !== null ? Number(sipCode) : NaN;
    status = Number.isFinite(code) && code >= 400 ? 'failed' : 'completed';
  }
  const reason = sipCode !== null && sipCode !== 'unspecified' ? `${cause} (sip ${sipCode})` : cause;
  return { carrierCallId: callControlId, status, carrierReason: reason };
}

function statusUpdate(
  eventType: string,
  callControlId: string | null,
  payload: Record<string, unknown>,
): CarrierStatusUpdate | null {
  if (callControlId === null) return null;
  switch (eventType) {
    case 'call.initiated': {
      // Outbound: Telnyx accepted the dial. Inbound: the call is ringing at us, waiting to be answered.
      const incoming = stringOrNull(payload, 'direction') === 'incoming';
      return {
        carrierCallId: callControlId,
        status: incoming ? 'ringing' : 'queued',
        carrierReason: eventType,
      };
    }
    case 'call.answered':
      return { carrierCallId: callControlId, status: 'in_progress', carrierReason: eventType };
    case 'call.hangup':
      return hangupUpdate(callControlId, payload);
    case 'call.machine.detection.ended':
    case 'call.machine.premium.detection.ended': {
      const result = stringOrNull(payload, 'result') ?? 'unknown';
      const answeredBy = AMD_RESULT[result] ?? 'unknown';
      return {
        carrierCallId: callControlId,
        status: 'in_progress',
        carrierReason: `${eventType}: ${result}`,
        answeredBy,
        // The greeting is still playing: its end is a call.machine.greeting.ended of its own.
        ...(answeredBy === 'machine' ? { machineGreetingEnded: false } : {}),
      };
    }
    case 'call.machine.greeting.ended':
    case 'call.machine.premium.greeting.ended': {
      // Only machines have greetings; `result` says how it ended (`beep_detected`, `ended`, `not_sure`).
      const result = stringOrNull(payload, 'result') ?? 'unknown';
      return {
        carrierCallId: callControlId,
        status: 'in_progress',
        carrierReason: `${eventType}: ${result}`,
        answeredBy: 'machine',
        machineGreetingEnded: true,
      };
    }
    default:
      return null;
  }
}

/**
 * Parses a Call Control webhook body (`{"data": {"event_type", "id", "occurred_at", "payload"}}`).
 * Verify the signature first (verifyTelnyxSignature) — this only reads.
 */
export function parseTelnyxWebhookEvent(rawBody: string | Buffer): TelnyxWebhookParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const data = isRecord(parsed) ? parsed['data'] : undefined;
  if (!isRecord(data)) return { ok: false, reason: 'webhook without a data object' };
  const eventType = stringOrNull(data, 'event_type');
  if (!eventType) return { ok: false, reason: 'webhook without data.event_type' };
  const payload = isRecord(data['payload']) ? data['payload'] : {};
  const callControlId = stringOrNull(payload, 'call_control_id');
  return {
    ok: true,
    event: {
      id: stringOrNull(data, 'id') ?? '',
      eventType,
      occurredAt: stringOrNull(data, 'occurred_at'),
      callControlId,
      callSessionId: stringOrNull(payload, 'call_session_id'),
      direction: stringOrNull(payload, 'direction'),
      from: stringOrNull(payload, 'from'),
      to: stringOrNull(payload, 'to'),
      clientState: decodeTelnyxClientState(stringOrNull(payload, 'client_state')),
      update: statusUpdate(eventType, callControlId, payload),
    },
  };
}
