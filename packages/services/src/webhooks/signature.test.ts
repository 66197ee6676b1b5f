import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from './signature.js';

const secret = 'whsec_test-secret';
const body = JSON.stringify({
  id: 'e1',
  type: 'call.ended',
  createdAt: '2026-01-01T00:00:00.000Z',
  data: {},
});
const sentAt = new Date('2026-01-01T00:00:00Z');

describe('webhook signatures', () => {
  it('is HMAC-SHA256 of "<t>.<body>" under the secret, as documented', () => {
    const t = sentAt.getTime() / 1000;
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signWebhookBody(secret, body, sentAt)).toBe(`t=${t},v1=${expected}`);
  });

  it('verifies a genuine signature within the tolerance', () => {
    const header = signWebhookBody(secret, body, sentAt);
    const verdict = verifyWebhookSignature(secret, header, body, new Date(sentAt.getTime() + 299_000));
    expect(verdict).toEqual({ valid: true, timestamp: sentAt.getTime() / 1000 });
  });

  it('refuses a tampered body, another secret and a forged signature', () => {
    const header = signWebhookBody(secret, body, sentAt);
    expect(
      verifyWebhookSignature(secret, header, body.replace('call.ended', 'call.started'), sentAt),
    ).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(verifyWebhookSignature('whsec_other', header, body, sentAt)).toMatchObject({ reason: 'mismatch' });
    const forged = header.replace(/v1=[0-9a-f]{64}/, `v1=${'0'.repeat(64)}`);
    expect(verifyWebhookSignature(secret, forged, body, sentAt)).toMatchObject({ reason: 'mismatch' });
  });

  it('refuses a genuine signature that is too old (a replayed capture)', () => {
    const header = signWebhookBody(secret, body, sentAt);
    expect(verifyWebhookSignature(secret, header, body, new Date(sentAt.getTime() + 301_000))).toEqual({
      valid: false,
      reason: 'too_old',
    });
    expect(
      verifyWebhookSignature(secret, header, body, new Date(sentAt.getTime() + 3_600_000), 7200),
    ).toMatchObject({
      valid: true,
    });
  });

  it('refuses missing and malformed headers', () => {
    for (const header of [undefined, '', 't=abc,v1=00', 'v1=' + '0'.repeat(64), 't=1700000000']) {
      expect(verifyWebhookSignature(secret, header, body, sentAt)).toEqual({
        valid: false,
        reason: 'malformed',
      });
    }
  });
});
