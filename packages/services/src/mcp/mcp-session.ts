// One connection to an MCP server: the SDK's client over streamable HTTP, every request through the
// SSRF guard. Connections are short-lived (one per discovery, one per tool call): an initialize
// exchange costs an extra round trip per call, but no session outlives the work it was opened for,
// a server restart never leaves a stale session behind, and settings or secrets changed since the last
// call apply at once.
import type { McpSettings } from '@parley/contracts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { HostLookup } from '../outbound/index.js';
import { guardedFetchAdapter } from './guarded-fetch-adapter.js';

/** Room for a page of 128 functions with long descriptions and schemas. */
export const MCP_MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

const CLIENT_INFO = { name: 'parley', version: '0.1.0' };

export interface McpConnectionOptions {
  /** The tool's credential, resolved by the caller: sent on every request, never logged. */
  credentialHeader?: { name: string; value: string };
  /** Operator setting: host names reached whatever they resolve to. */
  allowedHosts?: readonly string[];
  lookup?: HostLookup;
  signal?: AbortSignal;
}

export interface McpSession {
  client: Client;
  /** Ends the session on the server (when it keeps one) and the connection; never throws. */
  close(): Promise<void>;
}

function requestHeaders(settings: McpSettings, options: McpConnectionOptions): Record<string, string> {
  const headers: Record<string, string> = { ...settings.headers };
  if (options.credentialHeader) headers[options.credentialHeader.name] = options.credentialHeader.value;
  return headers;
}

/**
 * Connects and initializes. `signal` cancels every request of the session; each HTTP request is also
 * bounded by `settings.timeoutMs`. Rejects with the guard's or the SDK's error (see describeMcpFailure).
 */
export async function openMcpSession(
  settings: McpSettings,
  options: McpConnectionOptions,
): Promise<McpSession> {
  const transport = new StreamableHTTPClientTransport(new URL(settings.url), {
    fetch: guardedFetchAdapter({
      timeoutMs: settings.timeoutMs,
      maxResponseBytes: MCP_MAX_RESPONSE_BYTES,
      allowedHosts: options.allowedHosts,
      lookup: options.lookup,
      signal: options.signal,
    }),
    requestInit: { headers: requestHeaders(settings, options) },
    // Redirects are the guard's to follow and check; the SDK sees final responses only.
    redirectPolicy: 'follow',
    // Parley opens no standalone stream, so there is nothing to resume.
    reconnectionOptions: {
      maxRetries: 0,
      initialReconnectionDelay: 0,
      maxReconnectionDelay: 0,
      reconnectionDelayGrowFactor: 1,
    },
  });
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  // Transport errors also reject the request they belong to; the handler only keeps the SDK from
  // reporting them a second time.
  client.onerror = () => {};
  await client.connect(transport, { signal: options.signal, timeout: settings.timeoutMs });
  return {
    client,
    async close() {
      try {
        if (!options.signal?.aborted) await transport.terminateSession();
      } catch {
        // The server forgets idle sessions on its own.
      }
      await client.close().catch(() => {});
    },
  };
}
