// The life of a call record: queued (outbound, before the carrier has it) → ringing → in_progress →
// one of the final statuses. Carriers report their own words; these are Parley's.
export const CALL_STATUSES = [
  'queued',
  'ringing',
  'in_progress',
  'completed',
  'busy',
  'no_answer',
  'failed',
  'voicemail',
  'canceled',
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export const FINAL_CALL_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'busy',
  'no_answer',
  'failed',
  'voicemail',
  'canceled',
]);

export const isFinalCallStatus = (status: string): boolean => FINAL_CALL_STATUSES.has(status);
