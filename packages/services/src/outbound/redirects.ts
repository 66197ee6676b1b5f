import { OutboundRequestError } from './outbound-error.js';
import { parseTargetUrl } from './target-url.js';

/** One hop of a request: what is sent where. */
export interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// Headers that describe the body go when the body goes.
const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
];

// The customer's headers (API keys, tokens, cookies) were meant for the host they configured; a redirect
// to another origin keeps only these.
const CROSS_ORIGIN_HEADERS = new Set([
  'accept',
  'accept-language',
  'content-type',
  'content-language',
  'user-agent',
]);

/** The Location of a redirect response, or undefined when the response is final. */
export function redirectLocation(status: number, location: string | undefined): string | undefined {
  return REDIRECT_STATUSES.has(status) && location ? location : undefined;
}

/**
 * The next hop after a redirect: 303 turns into GET (and 301/302 turn a POST into GET, as browsers do);
 * 307 and 308 keep the method and body. The target is checked again by the caller like the first URL.
 */
export function followRedirect(hop: Hop, status: number, location: string): Hop {
  let next: URL;
  try {
    next = new URL(location, hop.url);
  } catch {
    throw new OutboundRequestError(
      'invalid_url',
      `${hop.url.host} redirected to an invalid location`,
      hop.url.host,
    );
  }
  const url = parseTargetUrl(next, `${hop.url.host} redirected to`);
  const toGet =
    (status === 303 && hop.method !== 'HEAD') ||
    ((status === 301 || status === 302) && hop.method === 'POST');
  let headers = { ...hop.headers };
  if (toGet) {
    headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !BODY_HEADERS.includes(name)));
  }
  if (url.origin !== hop.url.origin) {
    headers = Object.fromEntries(Object.entries(headers).filter(([name]) => CROSS_ORIGIN_HEADERS.has(name)));
  }
  return { url, method: toGet ? 'GET' : hop.method, headers, body: toGet ? undefined : hop.body };
}
