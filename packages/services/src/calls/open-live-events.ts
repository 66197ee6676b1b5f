// Who may watch an organization's live events, and for what: the caller needs `calls:read`, and a call
// or agent named as a filter must be the organization's own (another organization's is a 404, exactly
// like a missing one). Returns the organization whose events the caller gets.
import { authorize, type OrgContext } from '../context.js';
import { findAgent } from '../agents/agent-row.js';
import { findCall } from './call-row.js';

export interface LiveEventsFilter {
  callId?: string | undefined;
  agentId?: string | undefined;
}

export async function openLiveEvents(
  ctx: OrgContext,
  filter: LiveEventsFilter,
): Promise<{ organizationId: string }> {
  authorize(ctx, 'calls:read');
  if (filter.callId) await findCall(ctx.db, ctx.organizationId, filter.callId);
  if (filter.agentId) await findAgent(ctx.db, ctx.organizationId, filter.agentId);
  return { organizationId: ctx.organizationId };
}
