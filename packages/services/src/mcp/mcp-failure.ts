// What went wrong talking to an MCP server, in words safe to log and to show an administrator: the
// host and an HTTP status or JSON-RPC code, never header values, credentials, or the server's own
// error text (which can echo anything, the request's token included).
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { OutboundRequestError } from '../outbound/index.js';

export type McpFailureReason =
  | 'timeout'
  | 'cancelled'
  | 'address_refused'
  | 'unreachable'
  | 'unauthorized'
  | 'http_error'
  | 'server_error'
  | 'invalid_response';

export interface McpFailure {
  reason: McpFailureReason;
  /** Safe to log and to store as a discovery error. */
  message: string;
  /**
   * The server's own JSON-RPC error message, for the model only: never logged, it is the server's
   * text and may repeat what it was sent.
   */
  serverMessage?: string;
}

/** Thrown by discovery; `message` is safe to store and show (see `McpFailure`). */
export class McpServerError extends Error {
  readonly reason: McpFailureReason;
  constructor(failure: McpFailure) {
    super(failure.message);
    this.name = 'McpServerError';
    this.reason = failure.reason;
  }
}

const OUTBOUND_REASONS: Partial<Record<OutboundRequestError['code'], McpFailureReason>> = {
  timeout: 'timeout',
  aborted: 'cancelled',
  address_refused: 'address_refused',
  invalid_url: 'address_refused',
  response_too_large: 'invalid_response',
};

export function describeMcpFailure(error: unknown, timeoutMs: number): McpFailure {
  if (error instanceof McpServerError) return { reason: error.reason, message: error.message };
  if (error instanceof OutboundRequestError) {
    const reason = OUTBOUND_REASONS[error.code] ?? 'unreachable';
    return { reason, message: `Could not reach the MCP server: ${error.message}` };
  }
  if (error instanceof StreamableHTTPError) {
    // The SDK's message quotes the response body: only the status is kept.
    const status = error.code ?? 0;
    if (status === 401 || status === 403) {
      return {
        reason: 'unauthorized',
        message: `The MCP server refused the credentials (HTTP ${status}): check the tool's credential and headers`,
      };
    }
    if (status > 0) return { reason: 'http_error', message: `The MCP server answered HTTP ${status}` };
    return {
      reason: 'invalid_response',
      message: 'The MCP server answered with a content type other than JSON or an event stream',
    };
  }
  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout) {
      return { reason: 'timeout', message: `The MCP server did not answer within ${timeoutMs} ms` };
    }
    if (error.code === ErrorCode.ConnectionClosed) {
      return { reason: 'unreachable', message: 'The connection to the MCP server closed' };
    }
    // McpError's message is "MCP error <code>: <server text>"; the server text goes to the model only.
    const serverMessage = error.message.replace(/^MCP error -?\d+: /, '');
    return {
      reason: 'server_error',
      message: `The MCP server returned error ${error.code}`,
      serverMessage,
    };
  }
  if (error instanceof Error && error.name === 'ZodError') {
    return { reason: 'invalid_response', message: 'The MCP server sent an answer that is not valid MCP' };
  }
  // Anything else comes from the SDK's own checks (an unsupported protocol version, a bad body); its
  // name is safe, its message is quoted from the server too often to keep.
  const name = error instanceof Error ? error.name : typeof error;
  return { reason: 'invalid_response', message: `The MCP server could not be used (${name})` };
}
