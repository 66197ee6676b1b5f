import { guardedFetch, OutboundRequestError, type HostLookup } from '../outbound/index.js';
import { signWebhookBody } from './signature.js';

/** A receiver has this long to answer, body included. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Only the start of a response is kept, so a receiver answering with a large page costs nothing. */
export const WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024;
/** The part of the response body stored with each attempt. */
export const RESPONSE_EXCERPT_CHARS = 500;

export interface WebhookTransport {
  /** The operator's PARLEY_OUTBOUND_ALLOWED_HOSTS. */
  allowedHosts?: readonly string[];
  /** Tests resolve names to a local receiver. */
  lookup?: HostLookup;
  timeoutMs?: number;
}

export interface AttemptResult {
  ok: boolean;
  at: Date;
  responseStatus: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  /** `http_<status>` for a non-2xx answer, the outbound failure's code otherwise; null on success. */
  errorCode: string | null;
}

/**
 * POSTs one event to a customer's URL through the SSRF guard, signed with the endpoint's secret. Never
 * throws: every outcome is an attempt to record.
 */
export async function sendWebhook(
  target: { url: string; secret: string },
  event: { id: string; type: string; body: string },
  transport: WebhookTransport,
  now: Date,
): Promise<AttemptResult> {
  const started = performance.now();
  try {
    const response = await guardedFetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Parley-Webhooks/1',
        'parley-signature': signWebhookBody(target.secret, event.body, now),
        'parley-event-id': event.id,
        'parley-event-type': event.type,
      },
      body: event.body,
      timeoutMs: transport.timeoutMs ?? WEBHOOK_TIMEOUT_MS,
      maxResponseBytes: WEBHOOK_MAX_RESPONSE_BYTES,
      // A redirect would re-send the signed event somewhere the customer did not register.
      maxRedirects: 0,
      ...(transport.allowedHosts ? { allowedHosts: transport.allowedHosts } : {}),
      ...(transport.lookup ? { lookup: transport.lookup } : {}),
    });
    const ok = response.status >= 200 && response.status < 300;
    const excerpt = response.body.toString('utf8').slice(0, RESPONSE_EXCERPT_CHARS);
    return {
      ok,
      at: now,
      responseStatus: response.status,
      latencyMs: response.latencyMs,
      responseExcerpt: excerpt === '' ? null : excerpt,
      errorCode: ok ? null : `http_${response.status}`,
    };
  } catch (error) {
    return {
      ok: false,
      at: now,
      responseStatus: null,
      latencyMs: Math.round(performance.now() - started),
      responseExcerpt: null,
      errorCode: error instanceof OutboundRequestError ? error.code : 'internal_error',
    };
  }
}
