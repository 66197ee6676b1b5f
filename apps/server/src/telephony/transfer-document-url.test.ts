// The transfer URL makes a round trip: the dialer hands it to Plivo or Vobiz, the carrier fetches and
// signs it, and the route reads the destination from its query and rebuilds it to check the signature.
import { signPlivoRequest, verifyPlivoSignature } from '@parley/telephony';
import { describe, expect, it } from 'vitest';
import { transferDocumentPath, transferDocumentUrl } from './transfer-document-url.js';

const PUBLIC_URL = 'https://parley.example/voice';

describe('transferDocumentUrl', () => {
  it.each(['+14155550123', '+91 98765&to=+1000'])(
    'carries %s so the route reads it back as given and rebuilds the URL the carrier signed',
    (to) => {
      const given = transferDocumentUrl(PUBLIC_URL, 'plivo', 'c0ffee-uuid', to);
      const fetched = new URL(given);
      expect(fetched.pathname).toBe(`/voice${transferDocumentPath('plivo', 'c0ffee-uuid')}`);
      // What the route's query parser hands it: the destination, not a space where the `+` was.
      const read = fetched.searchParams.getAll('to');
      expect(read).toEqual([to]);

      const params = { CallUUID: 'c0ffee-uuid' };
      const headers = signPlivoRequest('auth-token', given, 'POST', params, 'nonce-1');
      const rebuilt = transferDocumentUrl(PUBLIC_URL, 'plivo', 'c0ffee-uuid', read[0]!);
      expect(rebuilt).toBe(given);
      expect(
        verifyPlivoSignature({ url: rebuilt, method: 'POST', params, headers, authToken: 'auth-token' }),
      ).toBe(true);
    },
  );
});
