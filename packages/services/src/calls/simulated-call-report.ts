// What `parley call simulate` prints once its call is over: the call's outcome, what was said turn by
// turn, and the latency of each of the agent's replies. Only simulated calls are answered, so the
// operator edge that serves this cannot be used to read a real call's transcript.
import { and, asc, callEvents, calls, eq, inArray, transcriptTurns } from '@parley/db';
import { requireInstanceAdmin, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { isFinalCallStatus } from './call-status.js';

export interface SimulatedCallReport {
  callId: string;
  status: string;
  endReason: string | null;
  /** Whether the call is over and its journal written (status final). */
  ended: boolean;
  transcript: { role: 'user' | 'agent'; text: string; atMs: number; interrupted: boolean }[];
  /** Each `turn.latency` event's figures, in the order the turns happened. */
  turnLatencies: Record<string, unknown>[];
  /** The call row's p50/p95 summary, written when the call ended. */
  latencySummary: Record<string, unknown> | null;
  /** What stopped the call, from its first fatal error event (e.g. why it could not be set up). */
  problem: string | null;
}

export async function getSimulatedCallReport(
  ctx: ServiceContext,
  callId: string,
): Promise<SimulatedCallReport> {
  requireInstanceAdmin(ctx);
  const [call] = await ctx.db.select().from(calls).where(eq(calls.id, callId));
  if (!call?.simulation) throw new ServiceError('call_not_found', 'No simulated call has this id');
  const turns = await ctx.db
    .select()
    .from(transcriptTurns)
    .where(eq(transcriptTurns.callId, callId))
    .orderBy(asc(transcriptTurns.seq));
  const events = await ctx.db
    .select({ type: callEvents.type, data: callEvents.data })
    .from(callEvents)
    .where(and(eq(callEvents.callId, callId), inArray(callEvents.type, ['turn.latency', 'error'])))
    .orderBy(asc(callEvents.seq));
  const fatal = events.find((e) => e.type === 'error' && e.data['fatal'] === true);
  return {
    callId,
    status: call.status,
    endReason: call.endReason,
    ended: isFinalCallStatus(call.status),
    transcript: turns.map((t) => ({ role: t.role, text: t.text, atMs: t.atMs, interrupted: t.interrupted })),
    turnLatencies: events
      .filter((e) => e.type === 'turn.latency')
      .map((e) => (e.data['latency'] ?? {}) as Record<string, unknown>),
    latencySummary: call.latency,
    problem: typeof fatal?.data['message'] === 'string' ? fatal.data['message'] : null,
  };
}
