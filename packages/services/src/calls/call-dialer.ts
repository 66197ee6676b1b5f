// The port through which the API places and hangs up outbound calls. Services define it; the server
// plugs in the carriers' REST call control (apps/server/src/telephony), tests plug in a fake. Keeping it
// a port keeps packages/services free of carrier code.

/** What the dialer needs to place one call on the carrier of its `from` number. */
export interface DialRequest {
  callId: string;
  organizationId: string;
  carrier: string;
  phoneNumberId: string;
  /** The from-number's carrier credential (resolve it with resolveCredentialSecret). */
  credentialId: string;
  from: string;
  to: string;
  /**
   * Ask the carrier for answering-machine detection (the agent's `voicemail.detect`); its verdict comes
   * to the call's status callback. Carriers that cannot detect machines dial without it.
   */
  machineDetection?: boolean;
}

/** A call the carrier has, to be hung up (or canceled while it rings). */
export interface HangUpRequest {
  callId: string;
  organizationId: string;
  carrier: string;
  phoneNumberId: string;
  credentialId: string;
  carrierCallId: string;
}

/**
 * Places and ends calls at the carrier. Its errors' messages are kept as the call's `carrierReason`
 * and must therefore never hold secrets.
 */
export interface CallDialer {
  dial(call: DialRequest): Promise<{ carrierCallId: string }>;
  hangUp(call: HangUpRequest): Promise<void>;
}

/** How many calls an organization may have at once and start per minute. */
export interface CallLimits {
  /** Calls queued, ringing or in progress, in any direction. */
  maxConcurrentCalls: number;
  /** Outbound calls created in any 60-second window. */
  callsPerMinute: number;
}

export const DEFAULT_CALL_LIMITS: CallLimits = { maxConcurrentCalls: 10, callsPerMinute: 60 };
