// A call's timeline in order, a page at a time (the cursor is the last `seq` seen), optionally only
// some event types.
import type { CallEvent, CallEventsQuery, Page } from '@parley/contracts';
import { and, asc, callEvents, eq, gt, inArray } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { iso } from '../pagination.js';
import { findCall } from './call-row.js';

export async function listCallEvents(
  ctx: OrgContext,
  callId: string,
  query: CallEventsQuery,
): Promise<Page<CallEvent>> {
  authorize(ctx, 'calls:read');
  await findCall(ctx.db, ctx.organizationId, callId);
  const rows = await ctx.db
    .select()
    .from(callEvents)
    .where(
      and(
        eq(callEvents.callId, callId),
        eq(callEvents.organizationId, ctx.organizationId),
        query.cursor ? gt(callEvents.seq, Number(query.cursor)) : undefined,
        query.type ? inArray(callEvents.type, query.type) : undefined,
      ),
    )
    .orderBy(asc(callEvents.seq))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  return {
    data: page.map((r) => ({
      seq: r.seq,
      type: r.type,
      atMs: r.atMs,
      data: r.data,
      createdAt: iso(r.createdAt),
    })),
    nextCursor: rows.length > query.limit ? String(page.at(-1)!.seq) : null,
  };
}
