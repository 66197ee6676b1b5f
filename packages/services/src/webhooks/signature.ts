import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header that carries a delivery's signature: `t=<unix seconds>,v1=<hex hmac>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'Parley-Signature';
/** How old a signature the verify helper accepts by default (replay protection for receivers). */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

function mac(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
}

/** The `Parley-Signature` value of `body` sent at `now`: HMAC-SHA256(secret, "<t>.<body>") in hex. */
export function signWebhookBody(secret: string, body: string, now: Date): string {
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

export type SignatureVerdict =
  { valid: true; timestamp: number } | { valid: false; reason: 'malformed' | 'mismatch' | 'too_old' };

/**
 * What a receiver does with a delivery (docs/webhooks.md shows the same algorithm in plain Node): the
 * signature must be over this exact body with this secret, and its time within `toleranceSeconds` of
 * `now`, so a captured delivery cannot be replayed later. Several `v1=` values (during a secret
 * rotation a receiver may hold two secrets) are not sent today, but any matching one is accepted.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  now: Date = new Date(),
  toleranceSeconds = DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
): SignatureVerdict {
  if (!header) return { valid: false, reason: 'malformed' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return { valid: false, reason: 'malformed' };
  const expected = Buffer.from(mac(secret, timestamp, body), 'hex');
  if (!signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected))) {
    return { valid: false, reason: 'mismatch' };
  }
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds)
    return { valid: false, reason: 'too_old' };
  return { valid: true, timestamp };
}
