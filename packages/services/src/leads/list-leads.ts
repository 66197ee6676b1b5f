// Lists the organization's leads, newest first, by call and agent. Leads come from calls, so whoever
// may read the calls may read them.
import type { Lead, LeadsQuery, Page } from '@parley/contracts';
import { and, desc, eq, leads, lt } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { toLead } from './lead-row.js';

export async function listLeads(ctx: OrgContext, query: LeadsQuery): Promise<Page<Lead>> {
  authorize(ctx, 'calls:read');
  const rows = await ctx.db
    .select()
    .from(leads)
    .where(
      and(
        eq(leads.organizationId, ctx.organizationId),
        query.callId ? eq(leads.callId, query.callId) : undefined,
        query.agentId ? eq(leads.agentId, query.agentId) : undefined,
        query.cursor ? lt(leads.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(leads.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toLead);
}
