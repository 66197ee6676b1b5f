// Requests from the operator's CLI to the running server (today: `parley call simulate`). The embedded
// database cannot be opened by a second process while the server runs, so the CLI asks the server over
// HTTP, proving operator power the way the CLI has it everywhere else: it holds the instance secret.
// The signature is an HMAC under a key derived from PARLEY_SECRET_KEY (never the secret itself) over
// the time, method, path and body; a signature is accepted once, within a minute of its time.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const OPERATOR_SIGNATURE_HEADER = 'parley-operator-signature';
const MAX_SKEW_MS = 60_000;

export interface OperatorRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  body: string;
}

function operatorKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'parley', 'parley operator requests v1', 32));
}

function mac(key: Buffer, atMs: number, request: OperatorRequest): string {
  return createHmac('sha256', key)
    .update(`${atMs}\n${request.method.toUpperCase()}\n${request.path}\n${request.body}`)
    .digest('hex');
}

/** The header value the CLI sends: `t=<unix ms>,v1=<hex hmac>`. */
export function signOperatorRequest(secret: string, request: OperatorRequest, nowMs = Date.now()): string {
  return `t=${nowMs},v1=${mac(operatorKey(secret), nowMs, request)}`;
}

/** Checks operator signatures for one server process, remembering those it accepted (no replays). */
export class OperatorSignatureVerifier {
  private readonly key: Buffer;
  private readonly seen = new Map<string, number>();

  constructor(secret: string) {
    this.key = operatorKey(secret);
  }

  verify(header: string | undefined, request: OperatorRequest, nowMs = Date.now()): boolean {
    const match = header ? /^t=(\d{1,15}),v1=([0-9a-f]{64})$/.exec(header) : null;
    if (!match) return false;
    const atMs = Number(match[1]);
    if (Math.abs(nowMs - atMs) > MAX_SKEW_MS) return false;
    const given = Buffer.from(match[2]!, 'hex');
    const expected = Buffer.from(mac(this.key, atMs, request), 'hex');
    if (!timingSafeEqual(given, expected)) return false;
    for (const [signature, expiresAtMs] of this.seen) if (expiresAtMs < nowMs) this.seen.delete(signature);
    if (this.seen.has(match[2]!)) return false;
    this.seen.set(match[2]!, atMs + MAX_SKEW_MS);
    return true;
  }
}
