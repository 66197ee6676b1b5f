// Runs one function of an MCP server for the model, and says what happened in words the model can use.
// Never throws: a server that is down, slow, refused or wrong becomes an error result the model hears.
import type { McpSettings } from '@parley/contracts';
import { describeMcpFailure } from './mcp-failure.js';
import { openMcpSession, type McpConnectionOptions, type McpSession } from './mcp-session.js';
import { toolResultText } from './tool-result-text.js';

/** What the model is given (structurally the voice engine's ToolOutcome). */
export type McpCallOutcome =
  { status: 'ok'; content: string } | { status: 'error'; code: 'timeout' | 'failed'; content: string };

/** A successful result's text for the model. */
export const MAX_RESULT_CHARS = 16_000;
/** The server's error text for the model. */
export const MAX_ERROR_CHARS = 4000;

/**
 * Connects, calls `name` with `args` and closes, all within `settings.timeoutMs`. An `isError` result
 * or a JSON-RPC error gives the model the server's text; that text is the server's and may repeat the
 * arguments, so callers must not log `content` of a failed outcome.
 */
export async function callMcpFunction(
  settings: McpSettings,
  name: string,
  args: Record<string, unknown>,
  options: McpConnectionOptions = {},
): Promise<McpCallOutcome> {
  // One deadline for connecting and calling: the caller is waiting on the phone for the whole of it.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort('timeout'), settings.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  let session: McpSession | undefined;
  try {
    session = await openMcpSession(settings, { ...options, signal });
    const result = await session.client.callTool({ name, arguments: args }, undefined, {
      signal,
      timeout: settings.timeoutMs,
    });
    // The SDK's type also allows the 2024-10-05 `{ toolResult }` shape, which its default result
    // schema never lets through.
    if ('toolResult' in result) {
      return { status: 'ok', content: String(JSON.stringify(result.toolResult)).slice(0, MAX_RESULT_CHARS) };
    }
    if (result.isError) {
      return {
        status: 'error',
        code: 'failed',
        content: toolResultText(result, MAX_ERROR_CHARS) || `The tool ${name} failed`,
      };
    }
    return { status: 'ok', content: toolResultText(result, MAX_RESULT_CHARS) };
  } catch (error) {
    if (deadline.signal.aborted) {
      return {
        status: 'error',
        code: 'timeout',
        content: `The tool ${name} did not answer within ${settings.timeoutMs} ms`,
      };
    }
    if (options.signal?.aborted) {
      return { status: 'error', code: 'failed', content: `The call to ${name} was cancelled` };
    }
    const failure = describeMcpFailure(error, settings.timeoutMs);
    if (failure.reason === 'timeout') return { status: 'error', code: 'timeout', content: failure.message };
    const content = failure.serverMessage?.slice(0, MAX_ERROR_CHARS) ?? failure.message;
    return { status: 'error', code: 'failed', content };
  } finally {
    clearTimeout(timer);
    // Not awaited: ending the session is the server's bookkeeping, and the model should not wait for it.
    void session?.close();
  }
}
