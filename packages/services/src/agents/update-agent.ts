import type { Agent } from '@parley/contracts';
import { agents, eq } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { findAgent, toAgent } from './agent-row.js';
import { changedFields, nextRevisions } from './draft-state.js';
import { mergePatch } from './merge-patch.js';
import { validateAgentConfig } from './validate-config.js';

/**
 * Edits the draft with a JSON merge patch (RFC 7396): `null` removes a field, which then takes its
 * default. The merged draft must be a valid config as a whole. A patch that changes nothing is not
 * an edit: no new revision, no audit row.
 */
export async function updateAgent(
  ctx: OrgContext,
  id: string,
  patch: Record<string, unknown>,
): Promise<Agent> {
  authorize(ctx, 'agents:write');
  return ctx.db.transaction(async (tx) => {
    const agent = await findAgent(tx, ctx.organizationId, id, { lock: true });
    const config = await validateAgentConfig(tx, ctx.organizationId, mergePatch(agent.draft, patch));
    const changed = changedFields(agent.draft, config);
    if (changed.length === 0) return toAgent(agent);
    const [row] = await tx
      .update(agents)
      .set({
        name: config.name,
        draft: config,
        ...(await nextRevisions(tx, agent, config, true)),
        updatedAt: nowOf(ctx),
      })
      .where(eq(agents.id, agent.id))
      .returning();
    if (!row) throw new Error('update returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'agent.update',
      targetType: 'agent',
      targetId: row.id,
      details: { changed },
    });
    return toAgent(row);
  });
}
