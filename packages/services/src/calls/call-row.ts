// Reading call rows of one organization and turning them into what the API answers. The media token's
// hash, the runtime and the recording's storage path stay inside.
import type { Call, CallDirection, CallLatency, CallStatus } from '@parley/contracts';
import { and, calls, eq, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso, isoOrNull } from '../pagination.js';

export type CallRow = typeof calls.$inferSelect;

/** Whole seconds between two instants; null while either is missing. */
function secondsBetween(from: Date | null, to: Date | null): number | null {
  if (!from || !to) return null;
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
}

/** Whole seconds from answer to end; null while either is missing (never answered, or still going). */
const durationSeconds = (row: CallRow) => secondsBetween(row.answeredAt, row.endedAt);

export function toCall(row: CallRow): Call {
  return {
    id: row.id,
    agentId: row.agentId,
    agentVersion: row.agentVersion,
    direction: row.direction as CallDirection,
    transport: row.transport,
    status: row.status as CallStatus,
    endReason: row.endReason,
    carrierReason: row.carrierReason,
    carrierCallId: row.carrierCallId,
    answeredBy: row.answeredBy,
    from: row.fromNumber,
    to: row.toNumber,
    // The column is typed as strings, but outbound calls keep the numbers and booleans they were given.
    variables: row.variables as Call['variables'],
    metadata: row.metadata,
    createdAt: iso(row.createdAt),
    answeredAt: isoOrNull(row.answeredAt),
    endedAt: isoOrNull(row.endedAt),
    durationSeconds: durationSeconds(row),
    durations: {
      ringSeconds: secondsBetween(row.createdAt, row.answeredAt ?? row.endedAt),
      talkSeconds: durationSeconds(row),
      totalSeconds: secondsBetween(row.createdAt, row.endedAt),
    },
    recording: { available: row.recordingPath !== null, durationMs: row.recordingDurationMs },
    // Written by the runtime's summarizeLatency (turns, then p50/p95 per stage).
    latency: (row.latency as CallLatency | null) ?? null,
    // No usage is recorded yet: the cost ledger will fill this.
    cost: null,
  };
}

/**
 * A call of this organization (its row locked for the transaction when `lock`). Another organization's
 * call is "not found", exactly like a missing one.
 */
export async function findCall(
  db: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<CallRow> {
  const query = db
    .select()
    .from(calls)
    .where(and(eq(calls.id, id), eq(calls.organizationId, organizationId)));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw new ServiceError('call_not_found', 'Call not found');
  return row;
}
