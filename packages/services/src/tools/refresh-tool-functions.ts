// Asks an MCP tool's server again which functions it offers, and answers the tool as it now stands.
import type { Tool } from '@parley/contracts';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { discoverToolFunctions } from './discover-tool-functions.js';
import { toolAuditDetails } from './store-tool.js';
import type { ToolOutbound } from './tool-request-settings.js';
import { findVisibleTool, toTool } from './tool-row.js';

/**
 * A server that fails to answer is not an error of this request: the answer is the tool with
 * `discoveryError` saying why (the functions found before are kept), as the tool shows it from then
 * on. `tools:write`: it connects with the organization's credential and changes what agents are offered.
 */
export async function refreshToolFunctions(
  ctx: OrgContext,
  id: string,
  outbound: ToolOutbound = {},
): Promise<Tool> {
  authorize(ctx, 'tools:write');
  const tool = await findVisibleTool(ctx.db, ctx.organizationId, id);
  if (tool.row.kind !== 'mcp') {
    throw new ServiceError(
      'tool_not_mcp',
      `Only MCP tools discover their functions: this ${tool.row.kind} tool offers the function it defines (${tool.row.functionName})`,
    );
  }
  const { error } = await discoverToolFunctions(ctx, ctx.organizationId, tool, outbound, nowOf(ctx));
  await auditInOrganization(ctx.db, ctx, {
    action: 'tool.refresh',
    targetType: 'tool',
    targetId: tool.row.id,
    details: { ...toolAuditDetails(tool.row), succeeded: error === null },
  });
  const refreshed = toTool(await findVisibleTool(ctx.db, ctx.organizationId, id));
  // A catalog tool's failure is this organization's alone: answered, not stored (see discoverToolFunctions).
  return error === null ? refreshed : { ...refreshed, discoveryError: error };
}
