// The organization's calls that are not over yet (queued, ringing or in progress), with the runtime
// carrying each. They come from the database, so every runtime's calls are there, whichever process
// answers.
import type { ActiveCall, CallDirection, CallStatus } from '@parley/contracts';
import { and, asc, calls, eq, inArray } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { iso, isoOrNull } from '../pagination.js';
import { LIVE_CALL_STATUSES } from './runtime-registry.js';

/** Queued calls are being dialed: live too, though no runtime carries them yet. */
const ACTIVE_STATUSES = ['queued', ...LIVE_CALL_STATUSES];

/** More live calls than any organization's concurrency limit allows; a bound, not a page. */
const MAX_ACTIVE_CALLS = 1000;

export async function listActiveCalls(ctx: OrgContext): Promise<{ data: ActiveCall[] }> {
  authorize(ctx, 'calls:read');
  const rows = await ctx.db
    .select()
    .from(calls)
    .where(and(eq(calls.organizationId, ctx.organizationId), inArray(calls.status, ACTIVE_STATUSES)))
    .orderBy(asc(calls.createdAt), asc(calls.id))
    .limit(MAX_ACTIVE_CALLS);
  return {
    data: rows.map((row) => ({
      id: row.id,
      agentId: row.agentId,
      direction: row.direction as CallDirection,
      transport: row.transport,
      from: row.fromNumber,
      to: row.toNumber,
      status: row.status as CallStatus,
      runtimeId: row.runtimeId,
      createdAt: iso(row.createdAt),
      answeredAt: isoOrNull(row.answeredAt),
    })),
  };
}
