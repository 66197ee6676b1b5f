import type { IncomingHttpHeaders } from 'node:http';
import { deadline, untilAborted } from './deadline.js';
import { openExchange } from './exchange.js';
import { OutboundRequestError } from './outbound-error.js';
import { followRedirect, redirectLocation, type Hop } from './redirects.js';
import { resolveTarget, systemLookup, type HostLookup } from './resolve-target.js';
import { checkedHeaders } from './request-headers.js';
import { parseTargetUrl } from './target-url.js';

export const DEFAULT_OUTBOUND_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 5;

export interface GuardedRequestOptions {
  /** GET unless given. */
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** For the whole request: every DNS lookup, redirect and the full body. */
  timeoutMs?: number;
  maxResponseBytes?: number;
  maxRedirects?: number;
  /** Operator setting: host names reached whatever they resolve to (`api.example.com`, `*.example.com`). */
  allowedHosts?: readonly string[];
  signal?: AbortSignal;
  /** Resolves host names; node's dns.lookup unless a test needs a name that resolves elsewhere. */
  lookup?: HostLookup;
}

export interface GuardedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Where the response came from, after redirects. */
  url: URL;
  redirects: number;
  /** From the call until the last byte of the body. */
  latencyMs: number;
}

/**
 * A request to a customer-supplied URL (webhook tools, MCP servers, pre-call context, customer
 * webhooks). It connects only to public addresses (unless the operator allowed the host by name),
 * pins the connection to the addresses it checked, re-checks every redirect, and bounds the time and
 * the size of the response. Failures are `OutboundRequestError`s; a non-2xx status is not a failure.
 */
export async function guardedFetch(
  input: string | URL,
  options: GuardedRequestOptions = {},
): Promise<GuardedResponse> {
  const started = performance.now();
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const lookup = options.lookup ?? systemLookup;
  let hop: Hop = {
    url: parseTargetUrl(input),
    method: (options.method ?? 'GET').toUpperCase(),
    headers: checkedHeaders(options.headers),
    body: typeof options.body === 'string' ? Buffer.from(options.body) : options.body,
  };
  const limit = deadline(options.timeoutMs ?? DEFAULT_OUTBOUND_TIMEOUT_MS, options.signal);
  try {
    for (let redirects = 0; ; redirects++) {
      const abortError = () => limit.errorFor(hop.url.host);
      const addresses = await untilAborted(
        resolveTarget(hop.url, options.allowedHosts, lookup),
        limit.signal,
        abortError,
      );
      const response = await openExchange(hop, addresses, limit.signal, abortError);
      const location = redirectLocation(response.status, response.headers.location);
      if (location === undefined) {
        const body = await response.readBody(maxResponseBytes);
        const latencyMs = Math.round(performance.now() - started);
        return {
          status: response.status,
          headers: response.headers,
          body,
          url: hop.url,
          redirects,
          latencyMs,
        };
      }
      response.discard();
      if (redirects >= maxRedirects) {
        throw new OutboundRequestError(
          'too_many_redirects',
          `Stopped after ${maxRedirects} redirects (last from ${hop.url.host})`,
          hop.url.host,
        );
      }
      hop = followRedirect(hop, response.status, location);
    }
  } finally {
    limit.dispose();
  }
}
