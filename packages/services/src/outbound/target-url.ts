import { OutboundRequestError } from './outbound-error.js';

/**
 * The URL as a request target: only http and https. `context` starts the error message ("The URL is",
 * "example.com redirected to") so the message says which step was wrong without quoting the URL, whose
 * path and query may hold secrets.
 */
export function parseTargetUrl(input: string | URL, context = 'The URL is'): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new OutboundRequestError('invalid_url', `${context} not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundRequestError(
      'invalid_url',
      `${context} a ${url.protocol.replace(/:$/, '')} URL; only http and https are allowed`,
      url.host || undefined,
    );
  }
  if (!url.hostname) throw new OutboundRequestError('invalid_url', `${context} a URL without a host`);
  return url;
}
