// Calls over the wire: the body that places an outbound call, the call record the API answers (its
// status, why it ended in Parley's and the carrier's words, its recording), and the list filters.
import { z } from 'zod';
import { MetadataValue } from './agents.js';
import { Id, PageQuery, Timestamp } from './common.js';
import { E164 } from './phone-numbers.js';

/**
 * The life of a call: queued (outbound, before the carrier has it) → ringing → in_progress → one of the
 * final statuses. The same list as the services' CALL_STATUSES (a test keeps the two equal).
 */
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
export const CallStatus = z.enum(CALL_STATUSES);
export type CallStatus = z.infer<typeof CallStatus>;

export const CALL_DIRECTIONS = ['inbound', 'outbound', 'web'] as const;
export const CallDirection = z.enum(CALL_DIRECTIONS);
export type CallDirection = z.infer<typeof CallDirection>;

const VariableValue = z.union([
  z.string().max(2000, 'must be at most 2000 characters'),
  z.number(),
  z.boolean(),
]);

/** Values for the agent's declared `{{variables}}` on this call. */
export const CallVariables = z
  .record(z.string().max(100, 'must be at most 100 characters'), VariableValue)
  .refine((v) => Object.keys(v).length <= 100, 'must have at most 100 keys');
export type CallVariables = z.infer<typeof CallVariables>;

/** The caller's own labels for the call (a CRM id, a campaign); Parley keeps and returns them. */
export const CallMetadata = z
  .record(z.string().max(100, 'must be at most 100 characters'), MetadataValue)
  .refine((m) => Object.keys(m).length <= 50, 'must have at most 50 keys');
export type CallMetadata = z.infer<typeof CallMetadata>;

export const CreateCallBody = z.strictObject({
  agentId: Id.describe('The agent that speaks on the call; its published version is used.'),
  to: E164.describe('The number to call.'),
  from: E164.describe(
    'A number of this organization, with a credential: the call is placed through its carrier.',
  ),
  variables: CallVariables.optional().describe('Values of variables the agent declares.'),
  metadata: CallMetadata.optional(),
});
export type CreateCallBody = z.infer<typeof CreateCallBody>;

export const CallsQuery = PageQuery.extend({
  status: CallStatus.optional(),
  direction: CallDirection.optional(),
  agentId: Id.optional().describe('Only the calls of this agent.'),
  createdAfter: Timestamp.optional().describe('Only calls created at or after this instant.'),
  createdBefore: Timestamp.optional().describe('Only calls created before this instant.'),
});
export type CallsQuery = z.infer<typeof CallsQuery>;

export const CallRecording = z
  .object({
    available: z.boolean().describe('Whether a recording of the call is stored.'),
    durationMs: z.number().int().nullable(),
  })
  .meta({ id: 'CallRecording' });

export const Call = z
  .object({
    id: Id,
    agentId: Id.nullable().describe('Null when the agent was deleted for good.'),
    agentVersion: z.number().int().nullable().describe('The published agent version the call runs.'),
    direction: CallDirection,
    transport: z.string().describe('The carrier (twilio, plivo, …), or `web`.'),
    status: CallStatus,
    endReason: z
      .string()
      .nullable()
      .describe('Why the call ended, in Parley’s words (canceled_by_api, dial_failed, carrier_busy, …).'),
    carrierReason: z
      .string()
      .nullable()
      .describe('The carrier’s own words for the last status (its status, hang-up cause or error).'),
    carrierCallId: z
      .string()
      .nullable()
      .describe('The carrier’s id of the call (to find it in the carrier’s console); null until it has one.'),
    answeredBy: z.string().nullable().describe('Who answered, when the carrier detects it (human, machine).'),
    from: z.string().nullable().describe('E.164; null for web calls.'),
    to: z.string().nullable().describe('E.164; null for web calls.'),
    variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: Timestamp,
    answeredAt: Timestamp.nullable(),
    endedAt: Timestamp.nullable(),
    durationSeconds: z
      .number()
      .int()
      .nullable()
      .describe('From answer to end, in whole seconds; null until the call was answered and ended.'),
    recording: CallRecording,
  })
  .meta({ id: 'Call' });
export type Call = z.infer<typeof Call>;
