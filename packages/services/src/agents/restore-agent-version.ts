import type { Agent } from '@parley/contracts';
import { agents, eq } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { findAgent, findAgentVersion, toAgent } from './agent-row.js';
import { changedFields, nextRevisions } from './draft-state.js';
import { validateAgentConfig } from './validate-config.js';

/**
 * Copies a version's config into the draft; publishing it again is a separate step. The version is
 * validated as a draft would be: a credential it names may have been deleted since.
 */
export async function restoreAgentVersion(ctx: OrgContext, agentId: string, version: number): Promise<Agent> {
  authorize(ctx, 'agents:write');
  return ctx.db.transaction(async (tx) => {
    const agent = await findAgent(tx, ctx.organizationId, agentId, { lock: true });
    const source = await findAgentVersion(tx, agent, version);
    const config = await validateAgentConfig(tx, ctx.organizationId, source.config);
    const changed = changedFields(agent.draft, config);
    const [row] = await tx
      .update(agents)
      .set({
        name: config.name,
        draft: config,
        ...(await nextRevisions(tx, agent, config, changed.length > 0)),
        ...(changed.length > 0 ? { updatedAt: nowOf(ctx) } : {}),
      })
      .where(eq(agents.id, agent.id))
      .returning();
    if (!row) throw new Error('update returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'agent.restore',
      targetType: 'agent',
      targetId: row.id,
      details: { version, changed },
    });
    return toAgent(row);
  });
}
