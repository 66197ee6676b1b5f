import { describe, expect, it } from 'vitest';
import { OperatorSignatureVerifier, signOperatorRequest } from './operator-signature.js';

const SECRET = 'an instance secret that is long enough for tests';
const REQUEST = { method: 'POST', path: '/internal/simulations', body: '{"agentId":"a"}' };
const NOW = 1_800_000_000_000;

describe('operator request signatures', () => {
  it('accepts a request signed with the instance secret, once', () => {
    const verifier = new OperatorSignatureVerifier(SECRET);
    const header = signOperatorRequest(SECRET, REQUEST, NOW);
    expect(verifier.verify(header, REQUEST, NOW + 500)).toBe(true);
    // The same signature again is a replay.
    expect(verifier.verify(header, REQUEST, NOW + 600)).toBe(false);
  });

  it('refuses another secret, another body or path, a stale time and a malformed header', () => {
    const verifier = new OperatorSignatureVerifier(SECRET);
    expect(
      verifier.verify(
        signOperatorRequest('another secret of the same good length!!', REQUEST, NOW),
        REQUEST,
        NOW,
      ),
    ).toBe(false);
    const header = signOperatorRequest(SECRET, REQUEST, NOW);
    expect(verifier.verify(header, { ...REQUEST, body: '{"agentId":"b"}' }, NOW)).toBe(false);
    expect(verifier.verify(header, { ...REQUEST, path: '/internal/simulations/x' }, NOW)).toBe(false);
    expect(verifier.verify(header, REQUEST, NOW + 61_000)).toBe(false);
    expect(verifier.verify(undefined, REQUEST, NOW)).toBe(false);
    expect(verifier.verify('t=1,v1=zz', REQUEST, NOW)).toBe(false);
  });
});
