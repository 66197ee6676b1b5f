// An MCP server speaking streamable HTTP, built with the official SDK (McpServer), for tests of
// Parley's MCP client: it offers the tools a test gives it, records every tool call it receives with
// the Authorization header that came with it, and can demand a bearer token. Stateless: each HTTP
// request gets its own server and transport, as the SDK's stateless example does.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AnySchema, ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A reply: plain text, or a whole MCP result (`isError`, images, resources…). */
export type McpTestToolReply = string | CallToolResult;

export interface McpTestTool {
  name: string;
  description?: string;
  /** A zod object schema or a zod raw shape (`{ id: z.string() }`); no arguments when absent. */
  inputSchema?: AnySchema | ZodRawShapeCompat;
  handler(args: Record<string, unknown>): McpTestToolReply | Promise<McpTestToolReply>;
}

export interface McpTestServerOptions {
  tools: readonly McpTestTool[];
  /** Every request must carry `Authorization: Bearer <token>`; others get a 401. */
  bearerToken?: string;
  /** Answer with plain JSON instead of an event stream (the SDK's default). */
  jsonResponse?: boolean;
}

export interface RecordedMcpToolCall {
  name: string;
  /** As sent, before the server validated them. */
  arguments: unknown;
  authorization: string | undefined;
}

export interface McpTestServer {
  /** The MCP endpoint, on 127.0.0.1. */
  url: string;
  port: number;
  /** Tool calls received, in order (a request refused for its token records none). */
  calls: RecordedMcpToolCall[];
  /** Every HTTP request received, accepted or not. */
  readonly requestCount: number;
  close(): Promise<void>;
}

function toResult(reply: McpTestToolReply): CallToolResult {
  return typeof reply === 'string' ? { content: [{ type: 'text', text: reply }] } : reply;
}

function buildServer(tools: readonly McpTestTool[]): McpServer {
  const server = new McpServer({ name: 'parley-test-mcp', version: '1.0.0' });
  for (const tool of tools) {
    const config = { description: tool.description, inputSchema: tool.inputSchema };
    // With an input schema the SDK passes (args, extra); without one, (extra) only.
    const callback = tool.inputSchema
      ? async (args: Record<string, unknown>) => toResult(await tool.handler(args))
      : async () => toResult(await tool.handler({}));
    server.registerTool(tool.name, config, callback as Parameters<McpServer['registerTool']>[2]);
  }
  return server;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

function toolCallsIn(body: unknown): { name: string; arguments: unknown }[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages
    .filter((m): m is { method: string; params?: { name?: unknown; arguments?: unknown } } => {
      return typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'tools/call';
    })
    .map((m) => ({ name: String(m.params?.name), arguments: m.params?.arguments }));
}

export async function startMcpTestServer(options: McpTestServerOptions): Promise<McpTestServer> {
  const calls: RecordedMcpToolCall[] = [];
  let requestCount = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    requestCount += 1;
    const authorization = req.headers.authorization;
    if (options.bearerToken !== undefined && authorization !== `Bearer ${options.bearerToken}`) {
      await readBody(req);
      return answer(res, 401, 'Unauthorized', { 'www-authenticate': 'Bearer' });
    }
    // Stateless: no standalone stream and no sessions to end.
    if (req.method !== 'POST') return answer(res, 405, 'Method not allowed', { allow: 'POST' });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return answer(res, 400, 'Parse error');
    }
    for (const call of toolCallsIn(body)) calls.push({ ...call, authorization });
    const server = buildServer(options.tools);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: options.jsonResponse ?? false,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, 'Internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    calls,
    get requestCount() {
      return requestCount;
    },
    async close() {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
