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

/** How a call list is ordered; `-` is descending. Ties are broken by the call id, in the same direction. */
export const CALL_SORTS = ['createdAt', '-createdAt', 'durationSeconds', '-durationSeconds'] as const;
export const CallSort = z.enum(CALL_SORTS);
export type CallSort = z.infer<typeof CallSort>;

/** `completed,busy`: one status or several, comma-separated. */
const StatusList = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()))
  .pipe(z.array(CallStatus).min(1));

const Seconds = z.coerce.number().int().min(0).max(1_000_000);

/** What narrows a call list (the list and its CSV export take the same filters). */
export const CallFilters = z.strictObject({
  status: StatusList.optional().describe('One status or several, comma-separated (`completed,busy`).'),
  direction: CallDirection.optional(),
  agentId: Id.optional().describe('Only the calls of this agent.'),
  carrier: z
    .string()
    .min(1)
    .max(40)
    .optional()
    .describe('Only calls carried by this transport (`twilio`, `plivo`, …, or `web`).'),
  number: E164.optional().describe('Only calls from or to this number (E.164).'),
  createdAfter: Timestamp.optional().describe('Only calls created at or after this instant.'),
  createdBefore: Timestamp.optional().describe('Only calls created before this instant.'),
  endReason: z.string().min(1).max(100).optional().describe('Only calls that ended for this reason.'),
  minDurationSeconds: Seconds.optional().describe('Only answered calls that lasted at least this long.'),
  maxDurationSeconds: Seconds.optional().describe('Only answered calls that lasted at most this long.'),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe('Full-text search in the transcripts (words, stemmed; every word must occur in one turn).'),
  sort: CallSort.default('-createdAt').describe(
    'Order: `-createdAt` (default, newest first), `createdAt`, ' +
      '`durationSeconds` or `-durationSeconds` (calls with no duration count as shorter than any).',
  ),
});
export type CallFilters = z.infer<typeof CallFilters>;

export const CallsQuery = CallFilters.extend({
  limit: PageQuery.shape.limit,
  cursor: z
    .string()
    .min(1)
    .max(400)
    .optional()
    .describe('The `nextCursor` of the previous page (opaque; valid only with the same `sort`).'),
});
export type CallsQuery = z.infer<typeof CallsQuery>;

/** A page of calls: the cursor is opaque (it carries the sort key of the last call and its id). */
export const callPageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .describe(
        'Pass as `cursor` (with the same filters and sort) for the next page; null on the last page.',
      ),
  });

export const CallRecording = z
  .object({
    available: z.boolean().describe('Whether a recording of the call is stored.'),
    durationMs: z.number().int().nullable(),
  })
  .meta({ id: 'CallRecording' });

const wholeSeconds = z.number().int().nullable();

export const CallDurations = z
  .object({
    ringSeconds: wholeSeconds.describe(
      'From creation to answer (or to the end, when never answered); null while neither happened.',
    ),
    talkSeconds: wholeSeconds.describe('From answer to end (the same as `durationSeconds`).'),
    totalSeconds: wholeSeconds.describe('From creation to end; null until the call ended.'),
  })
  .meta({ id: 'CallDurations' });

const Percentiles = z.object({ p50: z.number(), p95: z.number() });

/** Per-stage latency over the call's turns, in milliseconds (a stage no turn measured is absent). */
export const CallLatency = z
  .object({
    turns: z.number().int().describe('Turns measured.'),
    endpointingMs: Percentiles.optional(),
    sttMs: Percentiles.optional(),
    llmFirstTokenMs: Percentiles.optional(),
    ttsFirstByteMs: Percentiles.optional(),
    orchestratorMs: Percentiles.optional(),
    voiceToVoiceMs: Percentiles.optional(),
  })
  .meta({ id: 'CallLatency' });
export type CallLatency = z.infer<typeof CallLatency>;

/** The shape the cost ledger fills: the total and what each provider charged. */
export const CallCost = z
  .object({
    currency: z.string().describe('ISO 4217 (`USD`).'),
    total: z.number(),
    items: z.array(
      z.object({
        kind: z.enum(['telephony', 'stt', 'llm', 'tts']),
        provider: z.string(),
        amount: z.number(),
      }),
    ),
  })
  .meta({ id: 'CallCost' });

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
    durations: CallDurations,
    recording: CallRecording,
    latency: CallLatency.nullable().describe(
      'Written when the call ends; null before, or for a call with no media.',
    ),
    cost: CallCost.nullable().describe(
      'What the call cost, filled in by the cost ledger; null until then (Parley records no usage yet).',
    ),
  })
  .meta({ id: 'Call' });
export type Call = z.infer<typeof Call>;

/** One call with what only its own page shows. */
export const CallDetail = Call.extend({
  leadsCount: z.number().int().describe('Leads captured during the call (see `GET /leads?callId=`).'),
}).meta({ id: 'CallDetail' });
export type CallDetail = z.infer<typeof CallDetail>;

export const CallEvent = z
  .object({
    seq: z
      .number()
      .int()
      .describe(
        'Position in the call’s timeline: the session’s events from 1, the hooks asked before it at -1 (assistant request) and 0 (pre-call context).',
      ),
    type: z.string().describe('`status`, `transcript.final`, `turn.latency`, `tool.call`, …'),
    atMs: z.number().int().describe('Milliseconds since the call started.'),
    data: z.record(z.string(), z.unknown()),
    createdAt: Timestamp,
  })
  .meta({ id: 'CallEvent' });
export type CallEvent = z.infer<typeof CallEvent>;

export const CallEventsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100).describe('How many events to return (1–500).'),
  cursor: z
    .string()
    // -1: the assistant request event comes before the session's own (see docs/telephony.md).
    .regex(/^-?\d{1,10}$/, 'must be the `nextCursor` of the previous page')
    .optional()
    .describe('The `nextCursor` of the previous page: events after that `seq`.'),
  type: z
    .string()
    .transform((s) => s.split(',').map((part) => part.trim()))
    .pipe(z.array(z.string().min(1).max(60)).min(1).max(20))
    .optional()
    .describe('Only events of this type, or of these comma-separated types.'),
});
export type CallEventsQuery = z.infer<typeof CallEventsQuery>;

export const TranscriptTurn = z
  .object({
    seq: z.number().int(),
    role: z.enum(['user', 'agent']).describe('`user` is the caller.'),
    text: z.string().describe('The caller’s committed words, or what the caller heard of the agent.'),
    atMs: z.number().int().describe('Milliseconds since the call started.'),
    interrupted: z.boolean().describe('The caller spoke over the agent, who stopped there.'),
  })
  .meta({ id: 'TranscriptTurn' });
export type TranscriptTurn = z.infer<typeof TranscriptTurn>;

export const CallTranscript = z.object({ data: z.array(TranscriptTurn) });
export type CallTranscript = z.infer<typeof CallTranscript>;

/** `stereo`: the file as recorded (caller left, agent right); `mixed`: one channel, their average. */
export const RecordingQuery = z.strictObject({
  channels: z.enum(['stereo', 'mixed']).default('stereo'),
});
export type RecordingQuery = z.infer<typeof RecordingQuery>;
