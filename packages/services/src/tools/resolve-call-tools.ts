// What a call's model is offered from the agent's tools, ready to run: each tool the organization sees
// (its own or the catalog's) loaded once at the call's start, the agent's function selection applied,
// the organization's own settings laid over a catalog tool's, and the credential decrypted into the
// header it is sent in. A tool that cannot be used (deleted since the agent was published, a server
// that was never discovered and does not answer now, a credential gone) is left out with a warning:
// a call never fails to start because of a tool.
import {
  BuiltinSettings,
  McpSettings,
  WebhookSettings,
  type AgentToolRef,
  type ToolFunction,
} from '@parley/contracts';
import { inArray, tools } from '@parley/db';
import type { OrgContext } from '../context.js';
import { resolveCredentialSecret } from '../credentials/resolve-credential-secret.js';
import { discoverMcpFunctions } from '../mcp/discover-mcp-functions.js';
import { McpServerError } from '../mcp/mcp-failure.js';
import type { HostLookup } from '../outbound/resolve-target.js';
import { builtinFunctionDefinition } from '../tool-execution/builtin-functions.js';
import { credentialHeader, type CredentialHeader } from '../tool-execution/webhook-request.js';
import { recordToolDiscovery } from './record-tool-discovery.js';
import { organizationRequestParts } from './tool-request-settings.js';
import { selectVisibleTools, type VisibleTool } from './tool-row.js';

/** Where a function runs: the tool's own settings, with the organization's headers merged in. */
export type CallToolSource =
  | { kind: 'webhook'; webhook: WebhookSettings }
  | { kind: 'mcp'; mcp: McpSettings }
  | { kind: 'builtin'; builtin: BuiltinSettings };

export interface CallToolFunction {
  toolId: string;
  /** What the model calls. */
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  source: CallToolSource;
  /** The credential's header, its secret decrypted: sent with every request, never logged. */
  credentialHeader?: CredentialHeader;
}

export interface ResolvedCallTools {
  functions: CallToolFunction[];
  /** Why a tool or function was left out; names tools by id, never a secret or a caller's data. */
  warnings: string[];
}

export interface ResolveCallToolsOptions {
  /** The operator's allow-list, for discovering an MCP server that never was. */
  allowedHosts?: readonly string[];
  lookup?: HostLookup;
  /** The longest a first discovery may hold the call's start up (default 3 s). */
  discoveryTimeoutMs?: number;
  now?: Date;
}

export const DEFAULT_CALL_DISCOVERY_TIMEOUT_MS = 3000;

/**
 * `ctx` must be a system actor's (the credentials' secrets are decrypted). Functions come in the
 * order of `refs`; a function name offered twice keeps its first tool's.
 */
export async function resolveCallTools(
  ctx: OrgContext,
  refs: readonly AgentToolRef[],
  options: ResolveCallToolsOptions = {},
): Promise<ResolvedCallTools> {
  const warnings: string[] = [];
  if (refs.length === 0) return { functions: [], warnings };
  const ids = [...new Set(refs.map((ref) => ref.toolId))];
  const found = await selectVisibleTools(ctx.db, ctx.organizationId, inArray(tools.id, ids));
  const byId = new Map(found.map((visible) => [visible.row.id, visible]));
  const functions: CallToolFunction[] = [];
  const taken = new Set<string>();
  for (const ref of refs) {
    const visible = byId.get(ref.toolId);
    if (!visible) {
      warnings.push(`tool ${ref.toolId} is left out: it no longer exists`);
      continue;
    }
    let resolved: CallToolFunction[];
    try {
      resolved = await resolveTool(ctx, visible, options, warnings);
    } catch (error) {
      // Whatever went wrong with one tool (the database, say), the call starts with the others.
      warnings.push(`tool ${ref.toolId} is left out: it could not be loaded (${errorCode(error)})`);
      continue;
    }
    const selected = ref.functions ? resolved.filter((fn) => ref.functions!.includes(fn.name)) : resolved;
    for (const missing of (ref.functions ?? []).filter((name) => !resolved.some((fn) => fn.name === name))) {
      warnings.push(`tool ${ref.toolId} no longer offers the selected function ${missing}`);
    }
    for (const fn of selected) {
      if (taken.has(fn.name)) {
        warnings.push(`tool ${ref.toolId}: function ${fn.name} is left out, another tool offers that name`);
        continue;
      }
      taken.add(fn.name);
      functions.push(fn);
    }
  }
  return { functions, warnings };
}

/** The tool's functions, or none (with a warning) when it cannot be used on this call. */
async function resolveTool(
  ctx: OrgContext,
  visible: VisibleTool,
  options: ResolveCallToolsOptions,
  warnings: string[],
): Promise<CallToolFunction[]> {
  const { row } = visible;
  const unusable = (why: string) => {
    warnings.push(`tool ${row.id} is left out: ${why}`);
    return [];
  };
  if (row.kind === 'builtin') {
    const builtin = BuiltinSettings.safeParse(row.settings);
    if (!builtin.success) return unusable('its stored settings are not valid');
    const definition = builtinFunctionDefinition(builtin.data, {
      name: row.functionName ?? undefined,
      description: row.description,
    });
    return [{ toolId: row.id, ...definition, source: { kind: 'builtin', builtin: builtin.data } }];
  }
  const stored =
    row.kind === 'webhook' ? WebhookSettings.safeParse(row.settings) : McpSettings.safeParse(row.settings);
  if (!stored.success) return unusable('its stored settings are not valid');
  // A catalog tool's secret and extra headers are the calling organization's own.
  const { headers, credentialId } = organizationRequestParts(visible, stored.data);
  let credential: CredentialHeader | undefined;
  if (credentialId) {
    try {
      credential = await credentialOf(ctx, credentialId);
    } catch (error) {
      // Deleted, or sealed with a key that is gone: the tool's requests could not be authenticated.
      return unusable(`its credential could not be read (${errorCode(error)})`);
    }
  }
  const withCredential = credential ? { credentialHeader: credential } : {};

  if (row.kind === 'webhook') {
    const webhook = { ...(stored.data as WebhookSettings), headers };
    return [
      {
        toolId: row.id,
        name: row.functionName ?? '',
        description: row.description,
        parameters: row.parameters ?? { type: 'object', properties: {} },
        source: { kind: 'webhook', webhook },
        ...withCredential,
      },
    ];
  }
  const mcp = { ...(stored.data as McpSettings), headers };
  let discovered = row.discoveredFunctions as ToolFunction[] | null;
  if (discovered === null) {
    const discovery = await discoverNow(ctx, row.id, mcp, credential, options);
    if ('reason' in discovery) {
      return unusable(`its MCP server was never discovered and did not answer now (${discovery.reason})`);
    }
    discovered = discovery.functions;
  }
  return discovered.map((fn) => ({
    toolId: row.id,
    name: fn.name,
    description: fn.description,
    parameters: fn.parameters,
    source: { kind: 'mcp', mcp },
    ...withCredential,
  }));
}

async function credentialOf(ctx: OrgContext, credentialId: string): Promise<CredentialHeader> {
  const values = await resolveCredentialSecret(ctx, credentialId);
  return credentialHeader({ secret: values['secret'] ?? '', headerName: values['headerName'] });
}

/** A first discovery, on a short deadline; its outcome is recorded as a refresh's would be. */
async function discoverNow(
  ctx: OrgContext,
  toolId: string,
  mcp: McpSettings,
  credential: CredentialHeader | undefined,
  options: ResolveCallToolsOptions,
): Promise<{ functions: ToolFunction[] } | { reason: string }> {
  const timeoutMs = Math.min(mcp.timeoutMs, options.discoveryTimeoutMs ?? DEFAULT_CALL_DISCOVERY_TIMEOUT_MS);
  try {
    const { functions } = await discoverMcpFunctions(
      { ...mcp, timeoutMs },
      {
        ...(credential ? { credentialHeader: { name: credential.headerName, value: credential.value } } : {}),
        ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
        ...(options.lookup ? { lookup: options.lookup } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      },
    );
    await recordToolDiscovery(ctx.db, toolId, { functions }, options.now);
    return { functions };
  } catch (error) {
    if (!(error instanceof McpServerError)) throw error;
    await recordToolDiscovery(ctx.db, toolId, { error: error.message }, options.now);
    return { reason: error.reason };
  }
}

/** A ServiceError's code, or `internal`: never an error's message, which may quote data. */
function errorCode(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'internal';
}
