import type { AgentVersion } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { findAgent, findAgentVersion, toAgentVersion } from './agent-row.js';

export async function getAgentVersion(
  ctx: OrgContext,
  agentId: string,
  version: number,
): Promise<AgentVersion> {
  authorize(ctx, 'agents:read');
  const agent = await findAgent(ctx.db, ctx.organizationId, agentId);
  return toAgentVersion(await findAgentVersion(ctx.db, agent, version));
}
