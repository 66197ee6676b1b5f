// Live events: what happens on an organization's calls, as it happens, over Server-Sent Events
// (`GET /api/v1/events`) or a WebSocket (`GET /api/v1/events/ws`). Each event has an id that only grows
// within the organization; a client that reconnects with the last id it saw gets every event after it
// exactly once, or a `reset` when those events are no longer kept (then it reloads from the REST API).
import { z } from 'zod';
import { CallDirection, CallStatus } from './calls.js';
import { Id, Timestamp } from './common.js';

/** Every live event type, in the documented vocabulary (docs/api.md, "Live events"). */
export const LIVE_EVENT_TYPES = [
  'call.status',
  'speech.started',
  'speech.stopped',
  'transcript.partial',
  'transcript.final',
  'user.turn',
  'agent.speech.started',
  'agent.speech.ended',
  'agent.speech.interrupted',
  'tool.called',
  'tool.result',
  'dtmf',
  'decision',
  'error',
] as const;
export const LiveEventType = z.enum(LIVE_EVENT_TYPES);
export type LiveEventType = z.infer<typeof LiveEventType>;

/**
 * An event id: `<milliseconds>-<sequence>`, ordered first by the milliseconds, then by the sequence.
 * Clients treat it as opaque and only hand it back (`Last-Event-ID`, `lastEventId`).
 */
export const LiveEventId = z.string().regex(/^\d{1,16}-\d{1,10}$/, 'must be the id of a live event');

export const LiveEvent = z
  .object({
    id: LiveEventId,
    type: LiveEventType,
    callId: Id,
    agentId: Id.nullable(),
    occurredAt: Timestamp,
    data: z.record(z.string(), z.unknown()).describe('The fields of this event type (docs/api.md).'),
  })
  .meta({ id: 'LiveEvent' });
export type LiveEvent = z.infer<typeof LiveEvent>;

/** What the publisher of an event gives; the log adds the id. */
export type LiveEventInput = Omit<LiveEvent, 'id'>;

/** The `data` of a `call.status` event. */
export interface CallStatusEventData {
  status: CallStatus;
  /** The status before, when the process that changed it knows it. */
  previousStatus: CallStatus | null;
  /** Why the call ended (final statuses only). */
  endReason: string | null;
}

/**
 * Sent instead of the missed events when a client resumes from an id older than what is kept: the
 * client should reload the calls it shows from the REST API, then go on with what follows.
 */
export const LIVE_RESET_EVENT = 'reset';

const LiveEventTypes = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()))
  .pipe(z.array(LiveEventType).min(1).max(LIVE_EVENT_TYPES.length));

export const LiveEventsQuery = z.strictObject({
  callId: Id.optional().describe('Only this call’s events (a call of this organization).'),
  agentId: Id.optional().describe('Only the events of calls this agent speaks on.'),
  types: LiveEventTypes.optional().describe(
    'Only events of these comma-separated types, e.g. `call.status,transcript.final`.',
  ),
  lastEventId: LiveEventId.optional().describe(
    'Resume after this event (the `Last-Event-ID` header wins when both are sent).',
  ),
});
export type LiveEventsQuery = z.infer<typeof LiveEventsQuery>;

/** A call in a live status, with the runtime process carrying it. */
export const ActiveCall = z
  .object({
    id: Id,
    agentId: Id.nullable(),
    direction: CallDirection,
    transport: z.string().describe('The carrier (`twilio`, …) or `simulated`.'),
    from: z.string().nullable(),
    to: z.string().nullable(),
    status: CallStatus,
    runtimeId: z
      .string()
      .nullable()
      .describe('The runtime carrying the call; null until its media connects.'),
    createdAt: Timestamp,
    answeredAt: Timestamp.nullable(),
  })
  .meta({ id: 'ActiveCall' });
export type ActiveCall = z.infer<typeof ActiveCall>;

export const ActiveCalls = z.object({ data: z.array(ActiveCall) });
export type ActiveCalls = z.infer<typeof ActiveCalls>;
