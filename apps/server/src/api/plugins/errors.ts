import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { ERROR_CODES, type ErrorBody, type ErrorCode, type FieldIssue } from '@parley/contracts';
import { ServiceError } from '@parley/services';

/** Fastify's own error codes for bad requests, and what they mean to a client. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', message: 'The body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'invalid_json',
    message: 'The body is empty but the content type is application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', message: 'The body is larger than the limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    message: 'The body must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'invalid_request',
    message: 'Content-Length does not match the body',
  },
};

export function errorBody(
  request: FastifyRequest,
  code: ErrorCode,
  message: string,
  details?: unknown,
): ErrorBody {
  return {
    error: { code, message, ...(details === undefined ? {} : { details }), requestId: String(request.id) },
  };
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  details?: unknown,
) {
  return reply.code(ERROR_CODES[code].status).send(errorBody(request, code, message, details));
}

/**
 * A refusal that says when to come back (`details.retryAfterSeconds`, e.g. a call limit) also says it
 * in the standard `Retry-After` header, which HTTP clients and proxies understand.
 */
function retryAfterSeconds(details: unknown): number | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const seconds = (details as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0
    ? Math.ceil(seconds)
    : undefined;
}

function validationIssues(error: FastifyError): FieldIssue[] {
  const where = error.validationContext ?? 'body';
  return (error.validation ?? []).map((issue) => {
    const path = (issue as { instancePath?: string; params?: { issue?: { path?: PropertyKey[] } } }).params
      ?.issue?.path;
    const segments = path ? path.map(String) : (issue.instancePath ?? '').split('/').filter(Boolean);
    return { path: [where, ...segments].join('.'), message: issue.message ?? 'is invalid' };
  });
}

/** The one place where errors become HTTP responses (DESIGN §5). */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServiceError) {
      const retryAfter = retryAfterSeconds(error.details);
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      return sendError(request, reply, error.code, error.message, error.details);
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const details = validationIssues(error);
      const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
      return sendError(request, reply, 'invalid_request', `Invalid request: ${summary}`, details);
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error, issues: error.cause.issues }, 'response did not match its schema');
      return sendError(request, reply, 'internal_error', 'Internal error');
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return sendError(request, reply, known.code, known.message);
    if (error.statusCode === 429) {
      return sendError(request, reply, 'rate_limited', error.message || 'Too many requests');
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(
        request,
        reply,
        error.statusCode === 404 ? 'not_found' : 'invalid_request',
        error.message,
      );
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(request, reply, 'internal_error', 'Internal error');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}`),
  );
}
