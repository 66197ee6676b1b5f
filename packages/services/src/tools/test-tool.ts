// "Try it": runs a tool once with sample arguments and shows what happened, for
// `POST /api/v1/tools/:id/test`. Webhooks and MCP servers are really called, with the organization's
// credential (masked in what is shown); built-ins that would change something (saving a lead, handing
// the call off) are dry runs that show what they would do.
import type {
  BuiltinSettings,
  McpSettings,
  TestToolBody,
  ToolTestResult,
  WebhookSettings,
} from '@parley/contracts';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { callMcpFunction } from '../mcp/index.js';
import { runBuiltinFunction } from '../tool-execution/builtin-functions.js';
import { testWebhookFunction } from '../tool-execution/test-webhook-function.js';
import { okOutcome, type ToolOutcome } from '../tool-execution/tool-outcome.js';
import { SECRET_MASK } from '../tool-execution/webhook-request.js';
import { toolAuditDetails } from './store-tool.js';
import { toolRequestSettings, type ToolOutbound } from './tool-request-settings.js';
import { findVisibleTool, toolFunctions, type VisibleTool } from './tool-row.js';

export interface TestToolOptions {
  outbound?: ToolOutbound;
  /** Cancels the run (the client went away). */
  signal?: AbortSignal;
}

/** `tools:write`: the request is real and carries the organization's credential. */
export async function testTool(
  ctx: OrgContext,
  id: string,
  body: TestToolBody,
  options: TestToolOptions = {},
): Promise<ToolTestResult> {
  authorize(ctx, 'tools:write');
  const tool = await findVisibleTool(ctx.db, ctx.organizationId, id);
  const functionName = chosenFunction(tool, body.function);
  const result = await run({ ctx, tool, functionName, body, options });
  await auditInOrganization(ctx.db, ctx, {
    action: 'tool.test',
    targetType: 'tool',
    targetId: tool.row.id,
    // Never the arguments, variables or answer: they may be a caller's data or echo a secret.
    details: {
      ...toolAuditDetails(tool.row),
      function: functionName,
      outcome: result.outcome.status,
      code: result.outcome.code,
    },
  });
  return result;
}

function badFunction(message: string): ServiceError {
  return new ServiceError('invalid_request', `Invalid request: function: ${message}`, [
    { path: 'function', message },
  ]);
}

/** The function to run: the tool's own, or for an MCP server one of those it offers. */
function chosenFunction({ row }: VisibleTool, wanted: string | undefined): string {
  const offered = toolFunctions(row).map((f) => f.name);
  if (row.kind === 'mcp') {
    if (offered.length === 0) {
      throw badFunction(
        'no functions are known for this MCP server yet: discover them with POST /api/v1/tools/:id/refresh',
      );
    }
    if (wanted === undefined) throw badFunction(`required for an MCP tool: one of ${offered.join(', ')}`);
  }
  if (wanted === undefined) return row.functionName ?? '';
  if (!offered.includes(wanted)) throw badFunction(`this tool offers ${offered.join(', ')}, not ${wanted}`);
  return wanted;
}

/** One try of one function of a tool. */
interface TestRun {
  ctx: OrgContext;
  tool: VisibleTool;
  functionName: string;
  body: TestToolBody;
  options: TestToolOptions;
}

function run(testRun: TestRun): Promise<ToolTestResult> {
  switch (testRun.tool.row.kind) {
    case 'webhook':
      return testWebhook(testRun);
    case 'mcp':
      return testMcp(testRun);
    case 'builtin':
      return testBuiltin(testRun);
  }
}

async function testWebhook({ ctx, tool, functionName, body, options }: TestRun): Promise<ToolTestResult> {
  const { settings, credential } = await toolRequestSettings<WebhookSettings>(
    ctx.db,
    ctx.secretBox,
    ctx.organizationId,
    tool,
  );
  return testWebhookFunction({
    functionName,
    parameters: tool.row.parameters ?? {},
    webhook: settings,
    arguments: body.arguments,
    variables: body.variables,
    ...(credential ? { credential } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.outbound ? { outbound: options.outbound } : {}),
  });
}

async function testMcp({ ctx, tool, functionName, body, options }: TestRun): Promise<ToolTestResult> {
  const started = performance.now();
  const { settings, credential } = await toolRequestSettings<McpSettings>(
    ctx.db,
    ctx.secretBox,
    ctx.organizationId,
    tool,
  );
  // The server checks the arguments against its own schema and says what is wrong.
  const outcome = await callMcpFunction(settings, functionName, body.arguments, {
    ...(credential ? { credentialHeader: { name: credential.headerName, value: credential.value } } : {}),
    ...(options.outbound?.allowedHosts ? { allowedHosts: options.outbound.allowedHosts } : {}),
    ...(options.outbound?.lookup ? { lookup: options.outbound.lookup } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.headers)) headers[name.toLowerCase()] = value;
  if (credential) headers[credential.headerName.toLowerCase()] = SECRET_MASK;
  // The JSON-RPC call as the MCP client sends it (inside its session).
  const request = {
    method: 'POST',
    url: settings.url,
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      method: 'tools/call',
      params: { name: functionName, arguments: body.arguments },
    }),
  };
  return shown(outcome, request, started);
}

async function testBuiltin({ ctx, tool, functionName, body }: TestRun): Promise<ToolTestResult> {
  const started = performance.now();
  let lead: Record<string, unknown> | undefined;
  const outcome = await runBuiltinFunction({
    settings: tool.row.settings as BuiltinSettings,
    functionName,
    arguments: body.arguments,
    now: nowOf(ctx),
    // Dry runs: nothing is saved, nobody is transferred.
    saveLead: async (fields) => {
      lead = fields;
    },
    handOff: async ({ number, reason, summary, message }) =>
      okOutcome(
        JSON.stringify({
          dryRun: true,
          transferred: false,
          wouldTransferTo: number,
          reason,
          summary,
          message,
        }),
      ),
  });
  if (lead && outcome.status === 'ok') {
    return shown(okOutcome(JSON.stringify({ dryRun: true, saved: false, lead })), null, started);
  }
  return shown(outcome, null, started);
}

function shown(
  outcome: ToolOutcome | { status: 'ok' | 'error'; code?: string; content: string },
  request: ToolTestResult['request'],
  started: number,
): ToolTestResult {
  return {
    outcome: {
      status: outcome.status,
      code: outcome.status === 'error' && 'code' in outcome ? (outcome.code ?? null) : null,
      content: outcome.content,
    },
    request,
    response: null,
    durationMs: Math.round(performance.now() - started),
  };
}
