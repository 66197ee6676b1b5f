import type { AgentVersion } from '@parley/contracts';
import { agents, agentVersions, eq, sql } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { actorUserId, authorize, nowOf, type OrgContext } from '../context.js';
import { findAgent, findAgentVersion, toAgentVersion } from './agent-row.js';
import { validateAgentConfig } from './validate-config.js';

export interface Published {
  version: AgentVersion;
  /** False when the draft had no unpublished changes and the current version is returned as is. */
  created: boolean;
}

/**
 * Snapshots the draft as the next immutable version and makes it the published one. The draft is
 * validated again (the schema or its credentials may have changed since it was saved). Publishing
 * an unchanged draft is idempotent: it returns the current version.
 */
export async function publishAgent(ctx: OrgContext, id: string): Promise<Published> {
  authorize(ctx, 'agents:write');
  return ctx.db.transaction(async (tx) => {
    const agent = await findAgent(tx, ctx.organizationId, id, { lock: true });
    if (agent.publishedVersion !== null && agent.publishedRevision === agent.draftRevision) {
      const current = await findAgentVersion(tx, agent, agent.publishedVersion);
      return { version: toAgentVersion(current), created: false };
    }
    const config = await validateAgentConfig(tx, ctx.organizationId, agent.draft);
    // Versions count up from the highest ever published, not the published one (a restore moves the draft only).
    const [last] = await tx
      .select({ max: sql<number | null>`max(${agentVersions.version})` })
      .from(agentVersions)
      .where(eq(agentVersions.agentId, agent.id));
    const version = Number(last?.max ?? 0) + 1;
    const [row] = await tx
      .insert(agentVersions)
      .values({
        organizationId: ctx.organizationId,
        agentId: agent.id,
        version,
        config,
        publishedBy: actorUserId(ctx),
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await tx
      .update(agents)
      .set({ publishedVersion: version, publishedRevision: agent.draftRevision, updatedAt: nowOf(ctx) })
      .where(eq(agents.id, agent.id));
    await auditInOrganization(tx, ctx, {
      action: 'agent.publish',
      targetType: 'agent',
      targetId: agent.id,
      details: { version },
    });
    return { version: toAgentVersion(row), created: true };
  });
}
