// Reading tool rows visible to one organization (its own and the shared catalog's) and turning them
// into what the API answers.
import type { BuiltinSettings, Tool, ToolFunction, ToolKind } from '@parley/contracts';
import { and, eq, isNull, or, toolOrganizationSettings, tools, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso, isoOrNull } from '../pagination.js';
import { builtinParametersSchema } from '../tool-execution/builtin-functions.js';

export type ToolRow = typeof tools.$inferSelect;
export type ToolSettingsRow = typeof toolOrganizationSettings.$inferSelect;

/** A tool with the calling organization's own settings for it (catalog tools only). */
export interface VisibleTool {
  row: ToolRow;
  settings: ToolSettingsRow | null;
}

export const toolNotFound = () => new ServiceError('tool_not_found', 'Tool not found');

/** What the model is offered: the tool's one function, or the MCP server's discovered ones. */
export function toolFunctions(row: ToolRow): ToolFunction[] {
  if (row.kind === 'mcp') return (row.discoveredFunctions ?? []) as ToolFunction[];
  const parameters =
    row.kind === 'builtin'
      ? builtinParametersSchema(row.settings as BuiltinSettings)
      : (row.parameters ?? {});
  return [{ name: row.functionName ?? '', description: row.description, parameters }];
}

export function toTool({ row, settings }: VisibleTool): Tool {
  const kind = row.kind as ToolKind;
  const catalog = row.organizationId === null;
  return {
    id: row.id,
    kind,
    scope: catalog ? 'catalog' : 'organization',
    name: row.name,
    description: row.description,
    functionName: row.functionName,
    parameters: kind === 'builtin' ? (toolFunctions(row)[0]?.parameters ?? null) : row.parameters,
    webhook: kind === 'webhook' ? row.settings : null,
    mcp: kind === 'mcp' ? row.settings : null,
    builtin: kind === 'builtin' ? row.settings : null,
    functions: toolFunctions(row),
    discoveredAt: isoOrNull(row.discoveredAt),
    discoveryError: row.discoveryError,
    // Only ever the calling organization's own row: the join is on its id.
    organizationSettings:
      catalog && settings ? { credentialId: settings.credentialId, headers: settings.headers } : null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** Tools an organization sees: its own and the catalog's, never another organization's. */
export const visibleTo = (organizationId: string) =>
  or(eq(tools.organizationId, organizationId), isNull(tools.organizationId));

/** Tools joined to the given organization's settings for them. */
export function selectVisibleTools(db: Executor, organizationId: string, where: ReturnType<typeof and>) {
  return db
    .select({ row: tools, settings: toolOrganizationSettings })
    .from(tools)
    .leftJoin(
      toolOrganizationSettings,
      and(
        eq(toolOrganizationSettings.toolId, tools.id),
        eq(toolOrganizationSettings.organizationId, organizationId),
      ),
    )
    .where(and(visibleTo(organizationId), where));
}

/**
 * A tool the organization sees (its row locked for the transaction when `lock`). Another
 * organization's tool is "not found", exactly like a missing one.
 */
export async function findVisibleTool(
  db: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<VisibleTool> {
  const query = selectVisibleTools(db, organizationId, eq(tools.id, id));
  const [found] = options.lock ? await query.for('update', { of: tools }) : await query;
  if (!found) throw toolNotFound();
  return found;
}

/** A tool of the organization itself, for edits: a catalog tool is changed by instance administrators. */
export async function findOwnTool(db: Executor, organizationId: string, id: string): Promise<VisibleTool> {
  const found = await findVisibleTool(db, organizationId, id, { lock: true });
  if (found.row.organizationId === null) {
    throw new ServiceError(
      'forbidden',
      'This is a shared catalog tool: only instance administrators change it. Set your organization’s own credential and headers with PUT /api/v1/tools/:id/settings',
    );
  }
  return found;
}

/** A catalog tool, for instance administrators; an organization's tool is "not found" to them here. */
export async function findCatalogTool(db: Executor, id: string): Promise<ToolRow> {
  const [row] = await db
    .select()
    .from(tools)
    .where(and(eq(tools.id, id), isNull(tools.organizationId)))
    .for('update');
  if (!row) throw toolNotFound();
  return row;
}
