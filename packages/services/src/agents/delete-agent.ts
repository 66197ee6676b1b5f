import { agents, eq } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { findAgent } from './agent-row.js';

/**
 * Soft-deletes an agent: it disappears from every route (404), while its versions stay in the
 * database for the calls that already ran on them.
 */
export async function deleteAgent(ctx: OrgContext, id: string): Promise<void> {
  authorize(ctx, 'agents:write');
  await ctx.db.transaction(async (tx) => {
    const agent = await findAgent(tx, ctx.organizationId, id, { lock: true });
    const now = nowOf(ctx);
    await tx.update(agents).set({ deletedAt: now, updatedAt: now }).where(eq(agents.id, agent.id));
    await auditInOrganization(tx, ctx, {
      action: 'agent.delete',
      targetType: 'agent',
      targetId: agent.id,
      details: { name: agent.name },
    });
  });
}
