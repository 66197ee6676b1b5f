import { ERROR_CODES, type ErrorCode } from '@parley/contracts';

/**
 * The one error type service verbs throw on purpose. Its code decides the HTTP status (in one place,
 * the server's error mapper) and is documented in docs/errors.md.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ServiceError';
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** A suspended organization can still be read by its members, but nothing in it changes. */
export const organizationSuspended = () =>
  new ServiceError('organization_suspended', 'This organization is suspended; nothing in it can change');
