// Plain headers a customer's URL is called with. The same rules as a webhook tool's headers; kept in a
// file of its own because phone-numbers.ts cannot import tools.ts (which imports phone-numbers.ts).
import { z } from 'zod';

/** Header names a customer may set; the ones that frame the request are Parley's. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade']);

export const CustomerHeaders = z
  .record(
    z
      .string()
      .regex(HEADER_NAME, 'must be an HTTP header name')
      .refine((h) => !FORBIDDEN_HEADERS.has(h.toLowerCase()), 'is set by Parley and cannot be overridden'),
    z
      .string()
      .max(2000, 'must be at most 2000 characters')
      .regex(/^[^\r\n]*$/, 'must be one line'),
  )
  .refine((h) => Object.keys(h).length <= 20, 'must have at most 20 headers')
  .describe('Plain headers, shown back in the API: put secrets in a credential instead.');
