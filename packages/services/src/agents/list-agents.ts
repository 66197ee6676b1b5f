import type { Agent, Page, PageQuery } from '@parley/contracts';
import { agents, and, desc, eq, isNull, lt } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { toAgent } from './agent-row.js';

/** The organization's agents, newest first; deleted ones are gone. */
export async function listAgents(ctx: OrgContext, query: PageQuery): Promise<Page<Agent>> {
  authorize(ctx, 'agents:read');
  const rows = await ctx.db
    .select()
    .from(agents)
    .where(
      and(
        eq(agents.organizationId, ctx.organizationId),
        isNull(agents.deletedAt),
        query.cursor ? lt(agents.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(agents.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toAgent);
}
