import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  recordIdempotentResponse,
  releaseIdempotencyKey,
  reserveIdempotencyKey,
  ServiceError,
  type IdempotencyReservation,
  type ServiceDeps,
  type StoredResponse,
} from '@parley/services';
import { organizationContext } from './auth.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's success response carries a secret shown once (a new API key, an invitation token).
     * Its replay must not reveal it again, and the database must not keep it: a retry is told the
     * request already succeeded and which object it made.
     */
    respondsWithSecret?: boolean;
  }
  interface FastifyRequest {
    /** Set while this request holds its Idempotency-Key; its response is then recorded or released. */
    idempotency: IdempotencyReservation | null;
  }
}

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/**
 * Refusals that depend on who asks or when, not on the request itself (credentials, role, suspension,
 * a state conflict, a rate limit): nothing happened, so a retry with the same key must run again.
 */
const RETRYABLE_4XX = new Set([401, 403, 408, 409, 423, 425, 429]);

/** Final outcomes are replayed: successes and deterministic client errors. 5xx rolled back; retry runs. */
export const isReplayable = (status: number) =>
  (status >= 200 && status < 300) || (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status));

/** What is kept for a success whose body holds a one-time secret: a conflict naming the created object. */
function secretFreeReplay(requestId: string, payload: string): StoredResponse {
  let id: unknown;
  try {
    id = (JSON.parse(payload) as { id?: unknown }).id;
  } catch {
    id = undefined;
  }
  const created = typeof id === 'string' ? ` (id ${id})` : '';
  return {
    statusCode: 409,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({
      error: {
        code: 'conflict',
        message: `This request already succeeded${created}; its secret was shown once and is not kept.`,
        details: typeof id === 'string' ? { id } : undefined,
        requestId,
      },
    }),
  };
}

function sendStored(reply: FastifyReply, response: StoredResponse) {
  reply.code(response.statusCode).header(REPLAYED_HEADER, 'true');
  if (response.contentType) reply.type(response.contentType);
  // A string with a JSON content type is sent as is: the replay is the first response byte for byte.
  return reply.send(response.body ?? undefined);
}

/**
 * `Idempotency-Key` on authenticated POSTs (DESIGN §5). Register after `registerAuthentication`: the
 * key is scoped to the organization the request acts in and to the caller. A request that acts in no
 * organization the caller can enter has nowhere to keep a key and runs without one (docs/api.md).
 */
export function registerIdempotency(app: FastifyInstance, deps: ServiceDeps): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || !request.actor) return;
    const header = request.headers[IDEMPOTENCY_HEADER];
    if (header === undefined) return;
    const key = Array.isArray(header) ? header.join(', ') : header;
    if (!KEY_PATTERN.test(key)) {
      const message = 'must be 1–255 printable ASCII characters';
      throw new ServiceError('invalid_request', `Invalid request: the Idempotency-Key header ${message}`, [
        { path: `headers.${IDEMPOTENCY_HEADER}`, message },
      ]);
    }
    const ctx = await organizationContext(deps, request).catch((error: unknown) => {
      if (error instanceof ServiceError) return null;
      throw error;
    });
    if (!ctx) return;
    const outcome = await reserveIdempotencyKey(ctx, key, {
      method: request.method,
      path: request.url,
      body: request.body,
    });
    if (outcome.kind === 'replay') return sendStored(reply, outcome.response);
    request.idempotency = outcome.reservation;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const reservation = request.idempotency;
    if (!reservation) return payload;
    request.idempotency = null;
    const body = typeof payload === 'string' ? payload : payload == null ? null : undefined;
    // Only the status and body are replayed, so a response whose meaning lies in a cookie is not stored.
    const storable = isReplayable(reply.statusCode) && body !== undefined && !reply.hasHeader('set-cookie');
    try {
      if (
        storable &&
        body !== null &&
        reply.statusCode < 300 &&
        request.routeOptions.config.respondsWithSecret
      ) {
        await recordIdempotentResponse(deps, reservation, secretFreeReplay(String(request.id), body));
      } else if (storable) {
        const contentType = reply.getHeader('content-type');
        await recordIdempotentResponse(deps, reservation, {
          statusCode: reply.statusCode,
          contentType: typeof contentType === 'string' ? contentType : null,
          body,
        });
      } else {
        await releaseIdempotencyKey(deps, reservation);
      }
    } catch (error) {
      // The caller still gets the real response; the key frees itself after the in-flight timeout.
      request.log.error({ err: error }, 'could not record the idempotent response');
    }
    return payload;
  });
}
