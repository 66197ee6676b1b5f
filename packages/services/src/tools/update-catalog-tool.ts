// Instance administrators edit a catalog tool; every organization sees the change at once.
import type { Tool, UpdateToolBody } from '@parley/contracts';
import { audit } from '../audit.js';
import { requireInstanceAdmin, type ServiceContext } from '../context.js';
import { toolAuditDetails, updateToolRow } from './store-tool.js';
import { findCatalogTool, toTool } from './tool-row.js';

export async function updateCatalogTool(
  ctx: ServiceContext,
  id: string,
  input: UpdateToolBody,
): Promise<Tool> {
  requireInstanceAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    const existing = await findCatalogTool(tx, id);
    const { row, changed } = await updateToolRow(tx, ctx, existing, input);
    await audit(tx, ctx, {
      organizationId: null,
      action: 'catalog_tool.update',
      targetType: 'tool',
      targetId: row.id,
      details: { ...toolAuditDetails(row), changed },
    });
    return toTool({ row, settings: null });
  });
}
