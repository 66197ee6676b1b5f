// Discovers an MCP tool's functions over the network and stores what was found, or why nothing was.
import type { McpSettings } from '@parley/contracts';
import type { ServiceDeps } from '../context.js';
import { discoverMcpFunctions, McpServerError } from '../mcp/index.js';
import { recordToolDiscovery, type ToolDiscovery } from './record-tool-discovery.js';
import type { VisibleTool } from './tool-row.js';
import { toolRequestSettings, type ToolOutbound } from './tool-request-settings.js';

export interface DiscoveryResult {
  /** Why discovery failed, safe to show (no header value, no server text); null when it worked. */
  error: string | null;
  /** Whether the outcome was stored on the tool. */
  recorded: boolean;
}

/**
 * Runs outside any transaction: an MCP server may take seconds to answer. A catalog tool's functions
 * are shared, so an organization's discovery stores them when it succeeds, but its failure (maybe its
 * own wrong credential) is only answered to it, never shown to every organization.
 */
export async function discoverToolFunctions(
  deps: Pick<ServiceDeps, 'db' | 'secretBox'>,
  organizationId: string,
  tool: VisibleTool,
  outbound: ToolOutbound,
  now: Date,
): Promise<DiscoveryResult> {
  const catalog = tool.row.organizationId === null;
  let discovery: ToolDiscovery;
  try {
    const { settings, credential } = await toolRequestSettings<McpSettings>(
      deps.db,
      deps.secretBox,
      organizationId,
      tool,
    );
    const found = await discoverMcpFunctions(settings, {
      ...(credential ? { credentialHeader: { name: credential.headerName, value: credential.value } } : {}),
      ...(outbound.allowedHosts ? { allowedHosts: outbound.allowedHosts } : {}),
      ...(outbound.lookup ? { lookup: outbound.lookup } : {}),
    });
    discovery = { functions: found.functions };
  } catch (error) {
    if (!(error instanceof McpServerError)) throw error;
    discovery = { error: error.message };
  }
  if ('error' in discovery && catalog) return { error: discovery.error, recorded: false };
  await recordToolDiscovery(deps.db, tool.row.id, discovery, now);
  return { error: 'error' in discovery ? discovery.error : null, recorded: true };
}

/**
 * Right after an MCP tool is created or pointed elsewhere: the save already happened, so a failure of
 * any kind is stored on the tool for the administrator to see, never thrown.
 */
export async function discoverAfterSave(
  deps: Pick<ServiceDeps, 'db' | 'secretBox'>,
  organizationId: string,
  tool: VisibleTool,
  outbound: ToolOutbound,
  now: Date,
): Promise<void> {
  try {
    await discoverToolFunctions(deps, organizationId, tool, outbound, now);
  } catch (error) {
    // Not an MCP failure (a credential that cannot be decrypted, the database): only its kind is kept.
    const kind = error instanceof Error ? error.name : typeof error;
    await recordToolDiscovery(
      deps.db,
      tool.row.id,
      { error: `The functions could not be discovered (${kind}); try POST /api/v1/tools/:id/refresh` },
      now,
    ).catch(() => undefined);
  }
}
