import type { Agent } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { findAgent, toAgent } from './agent-row.js';

export async function getAgent(ctx: OrgContext, id: string): Promise<Agent> {
  authorize(ctx, 'agents:read');
  return toAgent(await findAgent(ctx.db, ctx.organizationId, id));
}
