import type { Agent } from '@parley/contracts';
import { agents, and, count, eq, isNull, organizations } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { readInstanceSettings } from '../instance-settings.js';
import { toAgent } from './agent-row.js';
import { validateAgentConfig } from './validate-config.js';

/**
 * Creates an agent from a whole configuration (omitted fields take their defaults). The input is
 * validated here, not at the edge, so a bad config answers 422 `invalid_config` with every field,
 * exactly as an edit does.
 */
export async function createAgent(ctx: OrgContext, input: unknown): Promise<Agent> {
  authorize(ctx, 'agents:write');
  return ctx.db.transaction(async (tx) => {
    const config = await validateAgentConfig(tx, ctx.organizationId, input);
    // Locking the organization row serialises creations, so concurrent ones cannot pass the limit.
    await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, ctx.organizationId))
      .for('no key update');
    const { maxAgentsPerOrganization } = await readInstanceSettings(tx);
    const [existing] = await tx
      .select({ n: count() })
      .from(agents)
      .where(and(eq(agents.organizationId, ctx.organizationId), isNull(agents.deletedAt)));
    if ((existing?.n ?? 0) >= maxAgentsPerOrganization) {
      throw new ServiceError(
        'agent_limit_reached',
        `This organization already has ${maxAgentsPerOrganization} agents, the most this instance allows`,
        { limit: 'maxAgentsPerOrganization', max: maxAgentsPerOrganization },
      );
    }
    const [row] = await tx
      .insert(agents)
      .values({ organizationId: ctx.organizationId, name: config.name, draft: config })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'agent.create',
      targetType: 'agent',
      targetId: row.id,
      details: { name: row.name },
    });
    return toAgent(row);
  });
}
