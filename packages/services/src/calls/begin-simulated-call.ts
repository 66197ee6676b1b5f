// `parley call simulate`: an operator tries an agent without a phone or provider keys. The call is
// recorded like an inbound call of the chosen carrier (ringing, with a single-use media token), and
// it carries `simulation`: where the runtime finds the provider simulators that stand in for the
// agent's providers on this call only. Only the server's operator edge calls this; the REST API has
// no way to set or read `simulation`.
import { agents, agentVersions, and, calls, eq, isNull, organizations } from '@parley/db';
import { audit } from '../audit.js';
import { nowOf, requireInstanceAdmin, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { hashToken, randomToken } from '../secret-box.js';
import { MEDIA_TOKEN_TTL_MS } from './begin-inbound-call.js';

export interface SimulatedCallStart {
  agentId: string;
  carrier: string;
  /** Validated by the edge (loopback URLs only); stored as given. */
  simulation: Record<string, unknown>;
  /** Why the simulation cannot carry this published version (a provider it cannot stand in for), or null. */
  problemWith: (versionConfig: Record<string, unknown>) => string | null;
}

export async function beginSimulatedCall(
  ctx: ServiceContext,
  start: SimulatedCallStart,
): Promise<{ callId: string; organizationId: string; agentVersion: number; mediaToken: string }> {
  requireInstanceAdmin(ctx);
  const now = nowOf(ctx);
  const mediaToken = randomToken();
  return ctx.db.transaction(async (tx) => {
    const [agent] = await tx
      .select({
        id: agents.id,
        organizationId: agents.organizationId,
        publishedVersion: agents.publishedVersion,
        suspendedAt: organizations.suspendedAt,
      })
      .from(agents)
      .innerJoin(organizations, eq(organizations.id, agents.organizationId))
      .where(and(eq(agents.id, start.agentId), isNull(agents.deletedAt)));
    if (!agent) throw new ServiceError('agent_not_found', 'Agent not found');
    if (agent.publishedVersion === null) {
      throw new ServiceError('invalid_reference', 'The agent has no published version: publish it first', [
        { path: 'agentId', message: 'the agent has no published version' },
      ]);
    }
    if (agent.suspendedAt !== null) {
      throw new ServiceError('organization_suspended', 'The agent’s organization is suspended');
    }
    const [version] = await tx
      .select({ config: agentVersions.config })
      .from(agentVersions)
      .where(and(eq(agentVersions.agentId, agent.id), eq(agentVersions.version, agent.publishedVersion)));
    if (!version)
      throw new ServiceError('agent_version_not_found', 'The agent’s published version is missing');
    const problem = start.problemWith(version.config);
    if (problem) {
      throw new ServiceError('invalid_reference', `This agent cannot be simulated: ${problem}`, [
        { path: 'agentId', message: problem },
      ]);
    }
    const [row] = await tx
      .insert(calls)
      .values({
        organizationId: agent.organizationId,
        agentId: agent.id,
        agentVersion: agent.publishedVersion,
        direction: 'inbound',
        transport: start.carrier,
        status: 'ringing',
        simulation: start.simulation,
        mediaTokenHash: hashToken(mediaToken),
        mediaTokenExpiresAt: new Date(now.getTime() + MEDIA_TOKEN_TTL_MS),
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: calls.id });
    if (!row) throw new Error('insert returned no row');
    await audit(tx, ctx, {
      organizationId: agent.organizationId,
      action: 'call.simulate',
      targetType: 'call',
      targetId: row.id,
      details: { agentId: agent.id, agentVersion: agent.publishedVersion, carrier: start.carrier },
    });
    return {
      callId: row.id,
      organizationId: agent.organizationId,
      agentVersion: agent.publishedVersion,
      mediaToken,
    };
  });
}
