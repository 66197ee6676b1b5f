// Instance administrators publish a tool to the shared catalog, which every organization sees.
import type { CreateToolBody, Tool } from '@parley/contracts';
import { audit } from '../audit.js';
import { requireInstanceAdmin, type ServiceContext } from '../context.js';
import { insertTool, toolAuditDetails } from './store-tool.js';
import { toTool } from './tool-row.js';

/** Checked like an organization's tool, except that it names no credential (each organization sets its own). */
export async function publishCatalogTool(ctx: ServiceContext, input: CreateToolBody): Promise<Tool> {
  requireInstanceAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    const row = await insertTool(tx, null, input);
    await audit(tx, ctx, {
      organizationId: null,
      action: 'catalog_tool.publish',
      targetType: 'tool',
      targetId: row.id,
      details: toolAuditDetails(row),
    });
    return toTool({ row, settings: null });
  });
}
