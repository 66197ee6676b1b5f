// Sending a built webhook request: one bounded attempt after another while the failure is worth
// retrying (no connection, no answer in time, a 5xx, a 429 asking for a short wait), with an
// exponential backoff, until the retries run out or the caller cancels.
import type { WebhookSettings } from '@parley/contracts';
import { guardedFetch, type GuardedResponse } from '../outbound/guarded-request.js';
import { OutboundRequestError, type OutboundErrorCode } from '../outbound/outbound-error.js';
import type { HostLookup } from '../outbound/resolve-target.js';
import type { WebhookRequest } from './webhook-request.js';
import { failureOutcome, responseOutcome } from './webhook-outcome.js';
import type { ToolOutcome } from './tool-outcome.js';

/** A tool's answer is for a model to read: a few hundred KiB is already far more than it needs. */
export const DEFAULT_TOOL_RESPONSE_BYTES = 256 * 1024;
export const DEFAULT_BACKOFF_BASE_MS = 250;
/** A 429 is retried only when it asks for at most this wait: a caller is on the line. */
export const MAX_RETRY_AFTER_MS = 2000;

/** Where requests may go, beyond the public internet, and how much they may bring back. */
export interface OutboundOptions {
  /** The operator's allow-list of host names (`api.internal.example`, `*.example.com`). */
  allowedHosts?: readonly string[];
  /** Host name resolution; the system's unless a test injects one. */
  lookup?: HostLookup;
  maxResponseBytes?: number;
}

export type WebhookErrorCode =
  OutboundErrorCode | 'http_status' | 'invalid_arguments' | 'invalid_body_template' | 'unexpected_error';

/** One run, for the call's events: what the model got, how many attempts, the last status, how long. */
export interface WebhookRunRecord {
  outcome: ToolOutcome;
  attempts: number;
  /** The last HTTP status, when a response came back. */
  status?: number;
  latencyMs: number;
  errorCode?: WebhookErrorCode;
}

export interface SendWebhookOptions {
  functionName: string;
  webhook: Pick<WebhookSettings, 'timeoutMs' | 'retries'>;
  signal?: AbortSignal;
  outbound?: OutboundOptions;
  /** The first retry waits this long, each next one twice as long. */
  backoffBaseMs?: number;
}

/** The record, and the last response for those who show it (the `test` endpoint). */
export interface SentWebhook {
  record: WebhookRunRecord;
  response?: GuardedResponse;
}

/** The longest a run can take with every attempt timing out: the voice runtime's deadline for it. */
export function webhookDeadlineMs(
  webhook: Pick<WebhookSettings, 'timeoutMs' | 'retries'>,
  backoffBaseMs = DEFAULT_BACKOFF_BASE_MS,
): number {
  let total = webhook.timeoutMs * (webhook.retries + 1);
  for (let n = 0; n < webhook.retries; n++) total += Math.max(backoffBaseMs * 2 ** n, MAX_RETRY_AFTER_MS);
  return total;
}

export async function sendWebhook(
  request: WebhookRequest,
  options: SendWebhookOptions,
): Promise<SentWebhook> {
  const started = performance.now();
  const { functionName, webhook, signal } = options;
  const backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const done = (
    outcome: ToolOutcome,
    attempts: number,
    extra: Partial<WebhookRunRecord> = {},
    response?: GuardedResponse,
  ): SentWebhook => ({
    record: { outcome, attempts, ...extra, latencyMs: Math.round(performance.now() - started) },
    ...(response ? { response } : {}),
  });
  const cancelled = (attempts: number, status?: number) =>
    done(failureOutcome(functionName, 'aborted', webhook.timeoutMs), attempts, {
      errorCode: 'aborted',
      ...(status === undefined ? {} : { status }),
    });

  for (let attempts = 1; ; attempts++) {
    const mayRetry = attempts <= webhook.retries;
    let response: GuardedResponse;
    try {
      response = await guardedFetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        timeoutMs: webhook.timeoutMs,
        maxResponseBytes: options.outbound?.maxResponseBytes ?? DEFAULT_TOOL_RESPONSE_BYTES,
        ...(options.outbound?.allowedHosts ? { allowedHosts: options.outbound.allowedHosts } : {}),
        ...(options.outbound?.lookup ? { lookup: options.outbound.lookup } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (!(error instanceof OutboundRequestError)) {
        return done(failureOutcome(functionName, 'connection_failed', webhook.timeoutMs), attempts, {
          errorCode: 'unexpected_error',
        });
      }
      if (error.retryable && mayRetry) {
        if (!(await pause(backoffBaseMs * 2 ** (attempts - 1), signal))) return cancelled(attempts);
        continue;
      }
      return done(failureOutcome(functionName, error.code, webhook.timeoutMs), attempts, {
        errorCode: error.code,
      });
    }
    const delayMs = mayRetry ? retryDelayMs(response, backoffBaseMs * 2 ** (attempts - 1)) : undefined;
    if (delayMs === undefined) {
      const ok = response.status >= 200 && response.status < 300;
      return done(
        responseOutcome(functionName, response.status, response.body),
        attempts,
        { status: response.status, ...(ok ? {} : { errorCode: 'http_status' as const }) },
        response,
      );
    }
    if (!(await pause(delayMs, signal))) return cancelled(attempts, response.status);
  }
}

/** How long to wait before retrying this response, or undefined when it is final. */
function retryDelayMs(response: GuardedResponse, backoffMs: number): number | undefined {
  // A server error may pass (the contract's "5xx"); 501 and 505 say the request itself will never work.
  if (response.status >= 500 && response.status !== 501 && response.status !== 505) return backoffMs;
  if (response.status !== 429) return undefined;
  const header = response.headers['retry-after'];
  if (header === undefined) return backoffMs;
  const afterMs = /^\d+$/.test(header.trim())
    ? Number(header.trim()) * 1000
    : Date.parse(header) - Date.now();
  if (Number.isNaN(afterMs) || afterMs > MAX_RETRY_AFTER_MS) return undefined;
  return Math.max(afterMs, 0);
}

/** Waits, unless the caller cancels first: false then. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
