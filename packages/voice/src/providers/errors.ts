// The one error type provider adapters throw. The core decides what to do from `category` and
// `retryable` alone (fall back, apologise, retry), never from a vendor's message text.

export const PROVIDER_ERROR_CATEGORIES = [
  'auth', // bad or missing credentials: retrying will not help
  'rate_limit', // the vendor throttled us
  'timeout', // no answer (or no first byte) within the deadline
  'network', // connection refused, reset or dropped mid-stream
  'bad_request', // the vendor rejected what we sent (model, voice, parameters)
  'server', // the vendor failed (5xx, error event)
  'protocol', // the vendor answered something we could not understand
] as const;
export type ProviderErrorCategory = (typeof PROVIDER_ERROR_CATEGORIES)[number];

export interface ProviderErrorOptions {
  category: ProviderErrorCategory;
  /** Whether the same request may succeed if tried again (possibly elsewhere). */
  retryable: boolean;
  /** Catalog id of the provider, e.g. `deepgram`. */
  provider: string;
  /** HTTP status or vendor close code when there was one. */
  status?: number;
  cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly category: ProviderErrorCategory;
  readonly retryable: boolean;
  readonly provider: string;
  readonly status: number | undefined;

  constructor(message: string, options: ProviderErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.category = options.category;
    this.retryable = options.retryable;
    this.provider = options.provider;
    this.status = options.status;
  }
}

/** The usual reading of an HTTP status: 401/403 auth, 429 throttled, 408/5xx retryable. */
export function providerErrorFromStatus(provider: string, status: number, detail: string): ProviderError {
  if (status === 401 || status === 403) {
    return new ProviderError(`${provider} refused the credentials (${status}): ${detail}`, {
      category: 'auth',
      retryable: false,
      provider,
      status,
    });
  }
  if (status === 429) {
    return new ProviderError(`${provider} rate limit (429): ${detail}`, {
      category: 'rate_limit',
      retryable: true,
      provider,
      status,
    });
  }
  if (status === 408 || status === 504) {
    return new ProviderError(`${provider} timed out (${status}): ${detail}`, {
      category: 'timeout',
      retryable: true,
      provider,
      status,
    });
  }
  if (status >= 500) {
    return new ProviderError(`${provider} server error (${status}): ${detail}`, {
      category: 'server',
      retryable: true,
      provider,
      status,
    });
  }
  return new ProviderError(`${provider} rejected the request (${status}): ${detail}`, {
    category: 'bad_request',
    retryable: false,
    provider,
    status,
  });
}

/** True when `error` is the abort of `signal` (aborting is silent: never reported as a failure). */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
