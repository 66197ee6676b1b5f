import { createHash } from 'node:crypto';
import { and, eq, idempotencyKeys, lt, or } from '@parley/db';
import { nowOf, type OrgContext, type ServiceContext, type ServiceDeps } from './context.js';
import { ServiceError } from './errors.js';

/** How long a key is remembered; an older row is ignored and its key may be used afresh. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60_000;
/**
 * A request still holding its key after this long is presumed lost with its process (a crash between
 * reserving and recording), so the key is freed rather than answering "in progress" for a day.
 */
export const IDEMPOTENCY_IN_FLIGHT_TIMEOUT_MS = 5 * 60_000;
// The table has no state column: status 0 (never an HTTP status) marks a key held by a running request.
const IN_FLIGHT = 0;

/** What makes two requests "the same": method, path with query, and parsed body. */
export interface IdempotentRequest {
  method: string;
  path: string;
  body: unknown;
}

/** A response to replay. The body is kept as the exact text sent, so a replay is byte-identical. */
export interface StoredResponse {
  statusCode: number;
  contentType: string | null;
  body: string | null;
}

export interface IdempotencyReservation {
  organizationId: string;
  key: string;
  requestHash: string;
}

export type IdempotencyOutcome =
  { kind: 'reserved'; reservation: IdempotencyReservation } | { kind: 'replay'; response: StoredResponse };

function actorKey(ctx: ServiceContext): string {
  switch (ctx.actor.type) {
    case 'user':
      return `user:${ctx.actor.userId}`;
    case 'api_key':
      return `api_key:${ctx.actor.apiKeyId}`;
    case 'system':
      return `system:${ctx.actor.label}`;
    case 'anonymous':
      return 'anonymous';
  }
}

/**
 * The caller is part of the request's identity: a stored response (say, a new API key's secret) is
 * only ever replayed to whoever received it first, never to a colleague who guesses the key.
 */
function hashRequest(ctx: ServiceContext, request: IdempotentRequest): string {
  const canonical = JSON.stringify([
    actorKey(ctx),
    request.method.toUpperCase(),
    request.path,
    request.body ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

const rowOf = (organizationId: string, key: string) =>
  and(eq(idempotencyKeys.organizationId, organizationId), eq(idempotencyKeys.key, key));

function isStoredResponse(value: unknown): value is Omit<StoredResponse, 'statusCode'> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (typeof v.contentType === 'string' || v.contentType === null) &&
    (typeof v.body === 'string' || v.body === null)
  );
}

/**
 * Claims `key` for this request before it runs. The primary key (organization, key) decides between
 * concurrent duplicates: exactly one reserves it; the others see it in flight (409 conflict), or, once
 * it finished, replay its response. The same key with a different request is `idempotency_key_reused`.
 */
export async function reserveIdempotencyKey(
  ctx: OrgContext,
  key: string,
  request: IdempotentRequest,
): Promise<IdempotencyOutcome> {
  const requestHash = hashRequest(ctx, request);
  const now = nowOf(ctx);
  const expiredBefore = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const abandonedBefore = new Date(now.getTime() - IDEMPOTENCY_IN_FLIGHT_TIMEOUT_MS);
  const reservation = { organizationId: ctx.organizationId, key, requestHash };
  // A second pass is needed only when the holder released the key between our two statements.
  for (let attempt = 0; attempt < 3; attempt++) {
    const [reserved] = await ctx.db
      .insert(idempotencyKeys)
      .values({ ...reservation, statusCode: IN_FLIGHT, responseBody: null, createdAt: now })
      .onConflictDoUpdate({
        target: [idempotencyKeys.organizationId, idempotencyKeys.key],
        set: { requestHash, statusCode: IN_FLIGHT, responseBody: null, createdAt: now },
        // Only an expired row, or a reservation whose request vanished, may be taken over.
        setWhere: or(
          lt(idempotencyKeys.createdAt, expiredBefore),
          and(eq(idempotencyKeys.statusCode, IN_FLIGHT), lt(idempotencyKeys.createdAt, abandonedBefore)),
        ),
      })
      .returning({ key: idempotencyKeys.key });
    if (reserved) {
      // Housekeeping rides on new keys: the organization's expired rows go (the primary key's
      // leading column keeps this cheap).
      await ctx.db
        .delete(idempotencyKeys)
        .where(
          and(
            eq(idempotencyKeys.organizationId, ctx.organizationId),
            lt(idempotencyKeys.createdAt, expiredBefore),
          ),
        );
      return { kind: 'reserved', reservation };
    }
    const [existing] = await ctx.db.select().from(idempotencyKeys).where(rowOf(ctx.organizationId, key));
    if (!existing) continue;
    if (existing.statusCode === IN_FLIGHT) {
      throw new ServiceError(
        'conflict',
        'A request with this Idempotency-Key is still in progress; retry once it has finished',
      );
    }
    if (existing.requestHash !== requestHash) {
      throw new ServiceError(
        'idempotency_key_reused',
        'This Idempotency-Key was already used for a different request; use a new key for a new request',
      );
    }
    const stored = existing.responseBody;
    if (!isStoredResponse(stored)) throw new Error('idempotency_keys row holds no response');
    return { kind: 'replay', response: { statusCode: existing.statusCode, ...stored } };
  }
  throw new ServiceError('conflict', 'The Idempotency-Key is contended; retry the request');
}

/** Stores the finished request's response for replays. */
export async function recordIdempotentResponse(
  deps: ServiceDeps,
  reservation: IdempotencyReservation,
  response: StoredResponse,
): Promise<void> {
  await deps.db
    .update(idempotencyKeys)
    .set({
      statusCode: response.statusCode,
      responseBody: { contentType: response.contentType, body: response.body },
    })
    .where(
      and(
        rowOf(reservation.organizationId, reservation.key),
        eq(idempotencyKeys.requestHash, reservation.requestHash),
        eq(idempotencyKeys.statusCode, IN_FLIGHT),
      ),
    );
}

/** Frees the key of a request whose outcome is not worth replaying, so a retry runs it again. */
export async function releaseIdempotencyKey(
  deps: ServiceDeps,
  reservation: IdempotencyReservation,
): Promise<void> {
  await deps.db
    .delete(idempotencyKeys)
    .where(
      and(
        rowOf(reservation.organizationId, reservation.key),
        eq(idempotencyKeys.requestHash, reservation.requestHash),
        eq(idempotencyKeys.statusCode, IN_FLIGHT),
      ),
    );
}
