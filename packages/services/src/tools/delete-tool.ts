// Deletes a tool of the organization.
import { eq, tools } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { toolInUse } from './tool-in-use.js';
import { toolAuditDetails } from './store-tool.js';
import { findOwnTool } from './tool-row.js';
import { agentsUsingTool } from './tool-users.js';

/**
 * Deletes for good, unless an agent's draft or published version lists the tool (409 `tool_in_use`
 * naming them): a call must never meet a tool that is gone.
 */
export async function deleteTool(ctx: OrgContext, id: string): Promise<void> {
  authorize(ctx, 'tools:write');
  await ctx.db.transaction(async (tx) => {
    const { row } = await findOwnTool(tx, ctx.organizationId, id);
    const agentIds = await agentsUsingTool(tx, ctx.organizationId, row.id);
    if (agentIds.length > 0) throw toolInUse(agentIds);
    await tx.delete(tools).where(eq(tools.id, row.id));
    await auditInOrganization(tx, ctx, {
      action: 'tool.delete',
      targetType: 'tool',
      targetId: row.id,
      details: toolAuditDetails(row),
    });
  });
}
