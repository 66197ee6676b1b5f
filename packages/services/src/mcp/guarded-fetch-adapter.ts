// The `fetch` the MCP SDK's streamable HTTP transport is given, so that every request it makes to a
// customer's MCP server goes through the SSRF guard (address checks after DNS, pinned connection,
// re-checked redirects, time and size limits).
//
// Why buffering is enough, and no streaming variant of the guard is needed:
// - POST (every JSON-RPC request and notification): the server answers with JSON, or with a
//   `text/event-stream` that it ends once the reply to the request has been sent. Reading that stream
//   whole, within the MCP timeout and a size limit, then handing the SDK a complete body, changes only
//   when progress notifications arrive (all at once, with the reply), which Parley does not use.
// - GET: the transport opens a standalone SSE stream for server-initiated messages, which stays open
//   indefinitely. Parley needs none of them (no sampling, no list-changed notifications within one
//   short-lived connection), so the GET is answered here with a 405, which the transport accepts as
//   "this server offers no such stream", and no request leaves the machine.
// - DELETE (ending a session): a short buffered exchange like a POST.
// Redirects are followed by the guard itself (each hop re-checked, credentials dropped when the origin
// changes), so the SDK only ever sees final responses.
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { guardedFetch, type GuardedResponse, type HostLookup } from '../outbound/index.js';

export interface GuardedFetchAdapterOptions {
  /** Per HTTP request, for the whole exchange including the body. */
  timeoutMs: number;
  maxResponseBytes: number;
  /** Operator setting: host names reached whatever they resolve to. */
  allowedHosts?: readonly string[];
  lookup?: HostLookup;
  /** Cancels every request of the connection (a call's deadline, the call ending). */
  signal?: AbortSignal;
}

// Statuses whose response may not have a body (the Response constructor refuses one).
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function headerRecord(init: RequestInit['headers']): Record<string, string> {
  const record: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  // The transport only ever sends JSON text; anything else would be a change in the SDK to look at.
  throw new TypeError('The MCP transport sent a request body of an unsupported type');
}

function toResponse(guarded: GuardedResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(guarded.headers)) {
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else if (value !== undefined) headers.set(name, value);
  }
  const body = NULL_BODY_STATUSES.has(guarded.status) ? null : new Uint8Array(guarded.body);
  const response = new Response(body, { status: guarded.status, headers });
  // The SDK reads `url` to describe redirects; a constructed Response has none.
  Object.defineProperty(response, 'url', { value: guarded.url.href });
  return response;
}

function combined(...signals: (AbortSignal | null | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s != null);
  return present.length > 1 ? AbortSignal.any(present) : present[0];
}

/** A fetch over `guardedFetch`; failures reject with the guard's `OutboundRequestError`. */
export function guardedFetchAdapter(options: GuardedFetchAdapterOptions): FetchLike {
  return async (input, init = {}) => {
    const method = (init.method ?? 'GET').toUpperCase();
    if (method === 'GET') {
      return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
    }
    const response = await guardedFetch(input, {
      method,
      headers: headerRecord(init.headers),
      body: bodyOf(init.body),
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
      allowedHosts: options.allowedHosts,
      lookup: options.lookup,
      signal: combined(options.signal, init.signal),
    });
    return toResponse(response);
  };
}
