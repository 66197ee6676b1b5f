// What only the database can check about an agent's tools: each is visible to the organization (its
// own or the catalog's), each selected function exists on it, and no two tools offer the model the
// same function name.
import { AgentToolRef, Id, type FieldIssue } from '@parley/contracts';
import { and, inArray, tools, type Executor } from '@parley/db';
import { isObject } from '../agents/merge-patch.js';
import { toolFunctions, visibleTo, type ToolRow } from './tool-row.js';

interface ToolRefAt {
  index: number;
  ref: AgentToolRef;
}

/** The tool entries of a config, read from the raw input so they are checked even when other fields are bad. */
function toolRefs(config: unknown): ToolRefAt[] {
  if (!isObject(config) || !Array.isArray(config.tools)) return [];
  return config.tools.flatMap((entry, index) => {
    const parsed = AgentToolRef.safeParse(entry);
    if (parsed.success) return [{ index, ref: parsed.data }];
    // An entry with a valid id but a bad selection still has its tool checked.
    if (isObject(entry) && Id.safeParse(entry.toolId).success) {
      return [{ index, ref: { toolId: entry.toolId as string } }];
    }
    return [];
  });
}

/** The function names a tool offers, or null when they are not known yet (an undiscovered MCP server). */
function offeredNames(row: ToolRow): string[] | null {
  if (row.kind === 'mcp' && row.discoveredFunctions === null) return null;
  return toolFunctions(row).map((f) => f.name);
}

export async function agentToolIssues(
  db: Executor,
  organizationId: string,
  config: unknown,
): Promise<FieldIssue[]> {
  const refs = toolRefs(config);
  if (refs.length === 0) return [];
  // FOR SHARE: a tool cannot be deleted while an agent that starts using it is being saved.
  const rows = await db
    .select()
    .from(tools)
    .where(and(visibleTo(organizationId), inArray(tools.id, [...new Set(refs.map((r) => r.ref.toolId))])))
    .for('share');
  const byId = new Map(rows.map((r) => [r.id, r]));
  const issues: FieldIssue[] = [];
  const offeredBy = new Map<string, number>();
  for (const { index, ref } of refs) {
    const row = byId.get(ref.toolId);
    if (!row) {
      issues.push({
        path: `tools.${index}.toolId`,
        message: 'no such tool in this organization or the shared catalog',
      });
      continue;
    }
    const names = offeredNames(row);
    ref.functions?.forEach((name, m) => {
      if (names !== null && !names.includes(name)) {
        issues.push({
          path: `tools.${index}.functions.${m}`,
          message: `the tool ${row.name} offers no function ${name} (it offers ${names.join(', ') || 'none'})`,
        });
      }
    });
    for (const name of ref.functions ?? names ?? []) {
      const other = offeredBy.get(name);
      if (other !== undefined && other !== index) {
        issues.push({
          path: `tools.${index}.toolId`,
          message: `offers a function named ${name}, as tools.${other} does: the model could not tell them apart`,
        });
      } else offeredBy.set(name, index);
    }
  }
  return issues;
}
