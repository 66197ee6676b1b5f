// Edits a tool of the organization.
import type { Tool, UpdateToolBody } from '@parley/contracts';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { toolAuditDetails, updateToolRow } from './store-tool.js';
import { findOwnTool, toTool } from './tool-row.js';

/**
 * The fields given replace the stored ones, and the whole tool is checked again. A catalog tool is
 * 403 here: instance administrators change it, and an organization sets only its own settings.
 */
export async function updateTool(ctx: OrgContext, id: string, input: UpdateToolBody): Promise<Tool> {
  authorize(ctx, 'tools:write');
  return ctx.db.transaction(async (tx) => {
    const existing = await findOwnTool(tx, ctx.organizationId, id);
    const { row, changed } = await updateToolRow(tx, ctx, existing.row, input);
    await auditInOrganization(tx, ctx, {
      action: 'tool.update',
      targetType: 'tool',
      targetId: row.id,
      // Which fields changed, never their values (a URL or a header may carry a token).
      details: { ...toolAuditDetails(row), changed },
    });
    return toTool({ row, settings: null });
  });
}
