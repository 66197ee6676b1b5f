export type OutboundErrorCode =
  | 'invalid_url'
  | 'invalid_request'
  | 'address_refused'
  | 'host_not_found'
  | 'connection_failed'
  | 'timeout'
  | 'aborted'
  | 'response_too_large'
  | 'too_many_redirects';

const RETRYABLE: ReadonlySet<OutboundErrorCode> = new Set(['connection_failed', 'timeout']);

/**
 * Why a request to a customer-supplied URL failed. The message names the host and what was wrong, never
 * the path, query string or header values: those often carry the customer's secrets.
 */
export class OutboundRequestError extends Error {
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    /** The host (and port, when not the default) the failing step was talking to, when there was one. */
    readonly host?: string,
  ) {
    super(message);
    this.name = 'OutboundRequestError';
  }

  /** Whether the same request might succeed if sent again later. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}
