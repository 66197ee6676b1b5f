// Instance administrators withdraw a tool from the catalog.
import { eq, tools } from '@parley/db';
import { audit } from '../audit.js';
import { requireInstanceAdmin, type ServiceContext } from '../context.js';
import { toolAuditDetails } from './store-tool.js';
import { toolInUse } from './tool-in-use.js';
import { findCatalogTool } from './tool-row.js';
import { agentsUsingTool } from './tool-users.js';

/**
 * Deletes it for good with every organization's settings for it, unless an agent of any organization
 * lists it in its draft or published version (409 `tool_in_use`).
 */
export async function deleteCatalogTool(ctx: ServiceContext, id: string): Promise<void> {
  requireInstanceAdmin(ctx);
  await ctx.db.transaction(async (tx) => {
    const row = await findCatalogTool(tx, id);
    const agentIds = await agentsUsingTool(tx, null, row.id);
    if (agentIds.length > 0) throw toolInUse(agentIds);
    await tx.delete(tools).where(eq(tools.id, row.id));
    await audit(tx, ctx, {
      organizationId: null,
      action: 'catalog_tool.delete',
      targetType: 'tool',
      targetId: row.id,
      details: toolAuditDetails(row),
    });
  });
}
