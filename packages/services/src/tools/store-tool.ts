// Writing a tool, for an organization or for the catalog: one path for both, so the catalog's tools
// are checked exactly like an organization's.
import type { CreateToolBody, UpdateToolBody } from '@parley/contracts';
import { eq, tools, type Executor } from '@parley/db';
import { nowOf, type ServiceDeps } from '../context.js';
import { ServiceError } from '../errors.js';
import type { ToolRow } from './tool-row.js';
import {
  checkFunctionNameFree,
  checkToolCredential,
  checkToolDefinition,
  functionNameTaken,
  parseDefinition,
  requestSettings,
} from './validate-tool.js';

function columnsOf(definition: CreateToolBody) {
  return {
    kind: definition.kind,
    name: definition.name,
    functionName: definition.kind === 'mcp' ? null : definition.functionName,
    description: definition.description,
    parameters: definition.kind === 'webhook' ? definition.parameters : null,
    settings: (definition.kind === 'webhook'
      ? definition.webhook
      : definition.kind === 'mcp'
        ? definition.mcp
        : definition.builtin) as Record<string, unknown>,
  };
}

function definitionOf(row: ToolRow): Record<string, unknown> {
  return {
    kind: row.kind,
    name: row.name,
    description: row.description,
    ...(row.kind === 'mcp' ? {} : { functionName: row.functionName }),
    ...(row.kind === 'webhook' ? { parameters: row.parameters } : {}),
    [row.kind]: row.settings,
  };
}

async function checkReferences(
  tx: Executor,
  organizationId: string | null,
  definition: CreateToolBody,
  exceptToolId: string | null,
): Promise<void> {
  checkToolDefinition(definition);
  await checkToolCredential(
    tx,
    organizationId,
    `${definition.kind}.credentialId`,
    requestSettings(definition)?.credentialId,
  );
  await checkFunctionNameFree(tx, organizationId, columnsOf(definition).functionName, exceptToolId);
}

export async function insertTool(
  tx: Executor,
  organizationId: string | null,
  definition: CreateToolBody,
): Promise<ToolRow> {
  await checkReferences(tx, organizationId, definition, null);
  // The unique index decides between racing creations; the loser inserts nothing.
  const [row] = await tx
    .insert(tools)
    .values({ organizationId, ...columnsOf(definition) })
    .onConflictDoNothing()
    .returning();
  if (!row) throw functionNameTaken(columnsOf(definition).functionName ?? '');
  return row;
}

/** Which fields an edit may give for each kind: the kind itself never changes. */
const NOT_FOR_KIND: Record<ToolRow['kind'], (keyof UpdateToolBody)[]> = {
  webhook: ['mcp', 'builtin'],
  mcp: ['functionName', 'parameters', 'webhook', 'builtin'],
  builtin: ['parameters', 'webhook', 'mcp'],
};

/** Applies a partial edit (objects replaced whole) and answers the row and the fields that changed. */
export async function updateToolRow(
  tx: Executor,
  deps: ServiceDeps,
  existing: ToolRow,
  input: UpdateToolBody,
): Promise<{ row: ToolRow; changed: string[] }> {
  const misplaced = NOT_FOR_KIND[existing.kind].filter((field) => input[field] !== undefined);
  if (misplaced.length > 0) {
    const details = misplaced.map((path) => ({ path, message: `a ${existing.kind} tool has no ${path}` }));
    const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new ServiceError('invalid_request', `Invalid tool: ${summary}`, details);
  }
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const definition = parseDefinition({ ...definitionOf(existing), ...given });
  await checkReferences(tx, existing.organizationId, definition, existing.id);
  const columns = columnsOf(definition);
  const changed = Object.keys(given);
  // Another server's functions are not this one's: discover them again.
  const serverMoved = existing.kind === 'mcp' && existing.settings.url !== columns.settings.url;
  const [row] = await tx
    .update(tools)
    .set({
      ...columns,
      ...(serverMoved ? { discoveredFunctions: null, discoveredAt: null, discoveryError: null } : {}),
      updatedAt: nowOf(deps),
    })
    .where(eq(tools.id, existing.id))
    .returning();
  if (!row) throw new Error('update returned no row');
  return { row, changed };
}

/** What an audit row says about a tool: never its URL, headers or parameters. */
export const toolAuditDetails = (row: ToolRow) => ({
  name: row.name,
  kind: row.kind,
  functionName: row.functionName,
});
