// Lists the organization's calls by every filter of the call history, in the chosen order, one page at
// a time (keyset pagination: a page boundary never skips or repeats a call, whatever the sort).
import type { Call, CallFilters, CallsQuery, Page } from '@parley/contracts';
import { and, calls, type Executor } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import {
  afterCursor,
  decodeCursor,
  encodeCursor,
  filterCalls,
  orderOf,
  sortPlan,
  type CallCursor,
} from './call-query.js';
import { toCall } from './call-row.js';

/** One page after `cursor` (from the start without one); `next` is null on the last page. */
export async function callPage(
  db: Executor,
  organizationId: string,
  filters: CallFilters,
  limit: number,
  cursor: CallCursor | null,
): Promise<{ data: Call[]; next: CallCursor | null }> {
  const plan = sortPlan(filters.sort);
  const rows = await db
    .select({ row: calls, key: plan.key })
    .from(calls)
    .where(and(filterCalls(organizationId, filters), cursor ? afterCursor(plan, cursor) : undefined))
    .orderBy(...orderOf(plan))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((r) => toCall(r.row)),
    next: rows.length > limit && last ? { sort: filters.sort, key: String(last.key), id: last.row.id } : null,
  };
}

export async function listCalls(ctx: OrgContext, query: CallsQuery): Promise<Page<Call>> {
  authorize(ctx, 'calls:read');
  const { limit, cursor, ...filters } = query;
  const after = cursor ? await decodeCursor(ctx.db, ctx.organizationId, filters.sort, cursor) : null;
  const page = await callPage(ctx.db, ctx.organizationId, filters, limit, after);
  return { data: page.data, nextCursor: page.next ? encodeCursor(page.next) : null };
}
