// Creates a tool of the organization.
import type { CreateToolBody, Tool } from '@parley/contracts';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { discoverAfterSave } from './discover-tool-functions.js';
import { insertTool, toolAuditDetails } from './store-tool.js';
import type { ToolOutbound } from './tool-request-settings.js';
import { findVisibleTool, toTool } from './tool-row.js';

/**
 * An MCP server's functions are discovered right after it is saved, best effort: a server that does
 * not answer yet leaves the tool created with `discoveryError` saying why.
 */
export async function createTool(
  ctx: OrgContext,
  input: CreateToolBody,
  outbound: ToolOutbound = {},
): Promise<Tool> {
  authorize(ctx, 'tools:write');
  const tool = await ctx.db.transaction(async (tx) => {
    const row = await insertTool(tx, ctx.organizationId, input);
    await auditInOrganization(tx, ctx, {
      action: 'tool.create',
      targetType: 'tool',
      targetId: row.id,
      details: toolAuditDetails(row),
    });
    return toTool({ row, settings: null });
  });
  if (tool.kind !== 'mcp') return tool;
  const saved = await findVisibleTool(ctx.db, ctx.organizationId, tool.id);
  await discoverAfterSave(ctx, ctx.organizationId, saved, outbound, nowOf(ctx));
  return toTool(await findVisibleTool(ctx.db, ctx.organizationId, tool.id));
}
