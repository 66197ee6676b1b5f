// Creates a tool of the organization.
import type { CreateToolBody, Tool } from '@parley/contracts';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { insertTool, toolAuditDetails } from './store-tool.js';
import { toTool } from './tool-row.js';

export async function createTool(ctx: OrgContext, input: CreateToolBody): Promise<Tool> {
  authorize(ctx, 'tools:write');
  return ctx.db.transaction(async (tx) => {
    const row = await insertTool(tx, ctx.organizationId, input);
    await auditInOrganization(tx, ctx, {
      action: 'tool.create',
      targetType: 'tool',
      targetId: row.id,
      details: toolAuditDetails(row),
    });
    return toTool({ row, settings: null });
  });
}
