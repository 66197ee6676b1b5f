// Edits a tool of the organization.
import type { Tool, UpdateToolBody } from '@parley/contracts';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { discoverAfterSave } from './discover-tool-functions.js';
import { toolAuditDetails, updateToolRow } from './store-tool.js';
import type { ToolOutbound } from './tool-request-settings.js';
import { findOwnTool, findVisibleTool, toTool } from './tool-row.js';

/**
 * The fields given replace the stored ones, and the whole tool is checked again. A catalog tool is
 * 403 here: instance administrators change it, and an organization sets only its own settings.
 */
export async function updateTool(
  ctx: OrgContext,
  id: string,
  input: UpdateToolBody,
  outbound: ToolOutbound = {},
): Promise<Tool> {
  authorize(ctx, 'tools:write');
  const { tool, serverChanged } = await ctx.db.transaction(async (tx) => {
    const existing = await findOwnTool(tx, ctx.organizationId, id);
    const { row, changed } = await updateToolRow(tx, ctx, existing.row, input);
    await auditInOrganization(tx, ctx, {
      action: 'tool.update',
      targetType: 'tool',
      targetId: row.id,
      // Which fields changed, never their values (a URL or a header may carry a token).
      details: { ...toolAuditDetails(row), changed },
    });
    return {
      tool: toTool({ row, settings: null }),
      serverChanged: row.kind === 'mcp' && reachedDifferently(existing.row.settings, row.settings),
    };
  });
  // Another server, or the same one asked with other credentials, may offer other functions.
  if (!serverChanged) return tool;
  await discoverAfterSave(
    ctx,
    ctx.organizationId,
    await findVisibleTool(ctx.db, ctx.organizationId, id),
    outbound,
    nowOf(ctx),
  );
  return toTool(await findVisibleTool(ctx.db, ctx.organizationId, id));
}

function reachedDifferently(before: Record<string, unknown>, after: Record<string, unknown>): boolean {
  return (
    before.url !== after.url ||
    before.credentialId !== after.credentialId ||
    JSON.stringify(before.headers ?? {}) !== JSON.stringify(after.headers ?? {})
  );
}
