// Plain headers a customer's URL is called with: a webhook tool's, a catalog tool's, a number's
// assistant request hook's. In a file of its own so that tools.ts and phone-numbers.ts (which tools.ts
// imports) can both use it.
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
