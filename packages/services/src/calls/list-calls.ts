// Lists the organization's calls, newest first, by status, direction, agent and creation time.
import type { Call, CallsQuery, Page } from '@parley/contracts';
import { and, calls, desc, eq, gte, lt } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { toCall } from './call-row.js';

export async function listCalls(ctx: OrgContext, query: CallsQuery): Promise<Page<Call>> {
  authorize(ctx, 'calls:read');
  const rows = await ctx.db
    .select()
    .from(calls)
    .where(
      and(
        eq(calls.organizationId, ctx.organizationId),
        query.status ? eq(calls.status, query.status) : undefined,
        query.direction ? eq(calls.direction, query.direction) : undefined,
        query.agentId ? eq(calls.agentId, query.agentId) : undefined,
        query.createdAfter ? gte(calls.createdAt, new Date(query.createdAfter)) : undefined,
        query.createdBefore ? lt(calls.createdAt, new Date(query.createdBefore)) : undefined,
        query.cursor ? lt(calls.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(calls.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toCall);
}
