// Stores the outcome of discovering an MCP server's functions (the discovery itself, over the
// network, is the MCP client's job).
import type { ToolFunction } from '@parley/contracts';
import { and, eq, tools, type Executor } from '@parley/db';
import { toolNotFound } from './tool-row.js';

export type ToolDiscovery = { functions: ToolFunction[] } | { error: string };

/**
 * A success replaces the functions and clears the error; a failure records why and keeps the
 * functions found last time, so a server that is briefly down does not take the agents' tools away.
 */
export async function recordToolDiscovery(
  db: Executor,
  toolId: string,
  discovery: ToolDiscovery,
  at: Date = new Date(),
): Promise<void> {
  const [row] = await db
    .update(tools)
    .set(
      'functions' in discovery
        ? { discoveredFunctions: discovery.functions, discoveredAt: at, discoveryError: null }
        : { discoveryError: discovery.error },
    )
    .where(and(eq(tools.id, toolId), eq(tools.kind, 'mcp')))
    .returning({ id: tools.id });
  if (!row) throw toolNotFound();
}
