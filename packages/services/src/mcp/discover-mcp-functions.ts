// Asks an MCP server which functions it offers, and keeps those the model can be offered.
import { FUNCTION_NAME, JsonSchemaObject, type McpSettings, type ToolFunction } from '@parley/contracts';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describeMcpFailure, McpServerError } from './mcp-failure.js';
import { openMcpSession, type McpConnectionOptions, type McpSession } from './mcp-session.js';

/** As many as an agent may select (AgentToolRef.functions). */
export const MAX_MCP_FUNCTIONS = 128;
export const MAX_FUNCTION_DESCRIPTION_CHARS = 2000;
/** A function's argument schema, as JSON. */
export const MAX_FUNCTION_SCHEMA_BYTES = 16 * 1024;
/** Pages of `tools/list`; a server that keeps answering with a cursor is not followed for ever. */
const MAX_PAGES = 20;

export interface SkippedMcpFunction {
  /** As the server named it (at most 100 characters). */
  name: string;
  reason: string;
}

export interface McpDiscovery {
  functions: ToolFunction[];
  /** The server's tools that are not offered to the model, and why. */
  skipped: SkippedMcpFunction[];
}

function truncated(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The function the model is offered for `tool`, or why there is none. */
function toFunction(tool: Tool): ToolFunction | string {
  if (!FUNCTION_NAME.test(tool.name)) {
    return 'the name is not a valid function name (letters, digits, _ and -, at most 64)';
  }
  const schema = JsonSchemaObject.safeParse(tool.inputSchema);
  if (!schema.success) return 'the input schema is not an object schema';
  if (Buffer.byteLength(JSON.stringify(schema.data)) > MAX_FUNCTION_SCHEMA_BYTES) {
    return `the input schema is larger than ${MAX_FUNCTION_SCHEMA_BYTES} bytes`;
  }
  const description = (tool.description ?? tool.title ?? '').trim();
  return {
    name: tool.name,
    description: truncated(description, MAX_FUNCTION_DESCRIPTION_CHARS),
    parameters: schema.data,
  };
}

async function listAll(session: McpSession, settings: McpSettings, signal?: AbortSignal): Promise<Tool[]> {
  const tools: Tool[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await session.client.listTools(cursor === undefined ? {} : { cursor }, {
      signal,
      timeout: settings.timeoutMs,
    });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    // The last page, or a server repeating itself.
    if (cursor === undefined || cursors.has(cursor)) break;
    cursors.add(cursor);
  }
  return tools;
}

/**
 * Connects, lists the server's tools (every page) and closes. Tools the model cannot be offered (a
 * name OpenAI refuses, a schema that is not an object or too large, a name seen twice, beyond the
 * 128th) are skipped with a reason. Failures throw `McpServerError`, whose message is safe to store.
 */
export async function discoverMcpFunctions(
  settings: McpSettings,
  options: McpConnectionOptions = {},
): Promise<McpDiscovery> {
  let tools: Tool[];
  let session: McpSession | undefined;
  try {
    session = await openMcpSession(settings, options);
    tools = await listAll(session, settings, options.signal);
  } catch (error) {
    throw new McpServerError(describeMcpFailure(error, settings.timeoutMs));
  } finally {
    await session?.close();
  }
  const functions: ToolFunction[] = [];
  const skipped: SkippedMcpFunction[] = [];
  const seen = new Set<string>();
  for (const tool of tools) {
    const name = truncated(tool.name, 100);
    const fn = toFunction(tool);
    if (typeof fn === 'string') skipped.push({ name, reason: fn });
    else if (seen.has(fn.name)) skipped.push({ name, reason: 'another function has the same name' });
    else if (functions.length >= MAX_MCP_FUNCTIONS) {
      skipped.push({ name, reason: `only the first ${MAX_MCP_FUNCTIONS} functions are offered` });
    } else {
      seen.add(fn.name);
      functions.push(fn);
    }
  }
  return { functions, skipped };
}
