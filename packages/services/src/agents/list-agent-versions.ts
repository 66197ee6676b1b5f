import type { AgentVersion, Page, PageQuery } from '@parley/contracts';
import { agentVersions, and, desc, eq, lt } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { findAgent, toAgentVersion } from './agent-row.js';

/** An agent's published versions, newest first (version rows have UUIDv7 ids, so id order is version order). */
export async function listAgentVersions(
  ctx: OrgContext,
  agentId: string,
  query: PageQuery,
): Promise<Page<AgentVersion>> {
  authorize(ctx, 'agents:read');
  const agent = await findAgent(ctx.db, ctx.organizationId, agentId);
  const rows = await ctx.db
    .select()
    .from(agentVersions)
    .where(
      and(
        eq(agentVersions.agentId, agent.id),
        eq(agentVersions.organizationId, ctx.organizationId),
        query.cursor ? lt(agentVersions.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(agentVersions.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toAgentVersion);
}
