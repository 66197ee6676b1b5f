// What every carrier folder provides, in carrier-neutral terms, so the server can route webhooks,
// media sockets and call control without knowing one carrier from another. Each carrier folder has
// messages.ts (its media wire format), media.ts (a CallTransport over its media WebSocket),
// webhook.ts (answer documents, signature checks, status callbacks) and call-control.ts (REST).
import type { AudioFormat } from '@parley/voice';

export const CARRIERS = ['twilio', 'exotel', 'vobiz', 'plivo', 'telnyx'] as const;
export type CarrierId = (typeof CARRIERS)[number];

/** A call leg's state, as every carrier's own statuses are mapped onto it. */
export type CarrierCallStatus =
  'queued' | 'ringing' | 'in_progress' | 'completed' | 'busy' | 'no_answer' | 'failed' | 'canceled';

/** Who answered, when the carrier ran answering-machine detection. */
export type AnsweredBy = 'human' | 'machine' | 'unknown';

/** A status (or answering-machine) callback, normalised. */
export interface CarrierStatusUpdate {
  carrierCallId: string;
  status: CarrierCallStatus;
  /** The carrier's own words for it (its status, hangup cause or SIP code), kept for the call record. */
  carrierReason: string;
  answeredBy?: AnsweredBy;
  /**
   * With a machine verdict: whether the machine's greeting is over (its beep, or the silence after it),
   * so that a message spoken now is what it records. False while the greeting may still be playing (the
   * carrier reports its end later). Absent when the carrier never reports it (Plivo, Vobiz): whoever
   * acts on the verdict must find the greeting's end itself.
   */
  machineGreetingEnded?: boolean;
  durationSeconds?: number;
}

/** What a media stream's opening message told us. */
export interface MediaStreamStart {
  carrierCallId: string;
  /** The carrier's id of this media stream (used in every message we send back). */
  streamId: string;
  /** Per-call parameters we put in the answer document (call id, media token). */
  customParameters: Record<string, string>;
  inputFormat: AudioFormat;
  outputFormat: AudioFormat;
}

/** Things a carrier may not support; the call-control capabilities say which. */
export interface CallControlCapabilities {
  outbound: boolean;
  hangUp: boolean;
  /** Cold transfer of a live call to a phone number. */
  transfer: boolean;
  sendDtmf: boolean;
  machineDetection: boolean;
}

export interface CreateCallRequest {
  /** E.164. */
  to: string;
  /** E.164, a number of the account. */
  from: string;
  /** Fetched by the carrier when the callee answers (the answer document). */
  answerUrl: string;
  /** Receives status (and answering-machine) callbacks for this call. */
  statusCallbackUrl: string;
  /** Ring this long before giving up (no_answer). */
  ringTimeoutSeconds?: number;
  /** Ask the carrier to detect an answering machine, asynchronously where it can. */
  machineDetection?: boolean;
}

/** The REST side of a carrier: placing, ending and redirecting calls. */
export interface CarrierCallControl {
  readonly carrier: CarrierId;
  readonly capabilities: CallControlCapabilities;
  createCall(request: CreateCallRequest): Promise<{ carrierCallId: string }>;
  hangUp(carrierCallId: string): Promise<void>;
  /** Cold transfer: the caller is connected to `to` and the agent leaves the call. */
  transfer(carrierCallId: string, to: string): Promise<void>;
  sendDtmf(carrierCallId: string, digits: string): Promise<void>;
}

export type TelephonyErrorCode =
  /** The carrier cannot do this (see CallControlCapabilities). */
  | 'unsupported'
  /** The carrier refused our credentials. */
  | 'auth'
  /** The carrier refused the request as invalid (bad number, bad parameter). */
  | 'invalid_request'
  | 'not_found'
  | 'rate_limited'
  /** The carrier answered with a server error. */
  | 'carrier_error'
  /** No answer from the carrier (refused, reset, timed out). */
  | 'network';

/** A carrier REST call failed. Never carries credentials; the message names carrier and operation. */
export class TelephonyError extends Error {
  override readonly name = 'TelephonyError';

  constructor(
    readonly carrier: CarrierId,
    readonly code: TelephonyErrorCode,
    message: string,
    readonly details: { httpStatus?: number; carrierCode?: string | number; retryable?: boolean } = {},
  ) {
    super(message);
  }

  get retryable(): boolean {
    return (
      this.details.retryable ??
      (this.code === 'network' || this.code === 'rate_limited' || this.code === 'carrier_error')
    );
  }
}
