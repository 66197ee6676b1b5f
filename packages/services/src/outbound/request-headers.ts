import { validateHeaderName, validateHeaderValue } from 'node:http';
import { OutboundRequestError } from './outbound-error.js';

// Framing and routing headers come from the URL and the body; a caller choosing them could smuggle a
// second request or reach another virtual host on the checked address.
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
]);

/** The caller's headers with lower-case names, refusing invalid or reserved ones. */
export function checkedHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers ?? {})) {
    const name = rawName.toLowerCase();
    try {
      validateHeaderName(name);
    } catch {
      throw new OutboundRequestError('invalid_request', 'A header name is not a valid HTTP token');
    }
    if (RESERVED_HEADERS.has(name)) {
      throw new OutboundRequestError(
        'invalid_request',
        `The ${name} header is set by the client, not the caller`,
      );
    }
    try {
      validateHeaderValue(name, value);
    } catch {
      throw new OutboundRequestError(
        'invalid_request',
        `The value of the ${name} header has invalid characters`,
      );
    }
    checked[name] = value;
  }
  return checked;
}
