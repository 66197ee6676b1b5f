import { Id } from '@parley/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  authenticateApiKey,
  authenticateSession,
  enterOrganization,
  constantTimeEqual,
  ServiceError,
  userActor,
  type Actor,
  type OrgContext,
  type ServiceContext,
  type ServiceDeps,
} from '@parley/services';

export const SESSION_COOKIE = 'parley_session';
export const CSRF_HEADER = 'x-csrf-token';
export const ORGANIZATION_HEADER = 'parley-organization';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    /** Set for cookie sessions: the token mutations must echo in X-CSRF-Token. */
    csrfToken: string | null;
    /** The first `organizationContext` lookup, reused by later callers (idempotency, then the route). */
    organizationContextPromise: Promise<OrgContext> | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Works out who is calling: `Authorization: Bearer <api key>` or the session cookie. A presented but
 * invalid key is an error; a missing or stale cookie just means "anonymous". Cookie-authenticated
 * mutations must carry the session's CSRF token in `X-CSRF-Token`.
 */
export function registerAuthentication(app: FastifyInstance, deps: ServiceDeps): void {
  app.decorateRequest('actor', null);
  app.decorateRequest('csrfToken', null);
  app.decorateRequest('organizationContextPromise', null);
  app.addHook('preHandler', async (request) => {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match)
        throw new ServiceError('api_key_invalid', 'The Authorization header must be `Bearer <API key>`');
      request.actor = await authenticateApiKey(deps, match[1] as string);
      return;
    }
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return;
    const session = await authenticateSession(deps, token);
    if (!session) return;
    request.actor = userActor(session.user);
    request.csrfToken = session.csrfToken;
    if (!SAFE_METHODS.has(request.method)) {
      const presented = request.headers[CSRF_HEADER];
      if (typeof presented !== 'string' || !constantTimeEqual(presented, session.csrfToken)) {
        throw new ServiceError(
          'csrf_failed',
          'Missing or wrong X-CSRF-Token header (get it from GET /api/v1/me)',
        );
      }
    }
  });
}

/** The caller's context; throws `unauthenticated` for anonymous requests. */
export function serviceContext(deps: ServiceDeps, request: FastifyRequest): ServiceContext {
  if (!request.actor)
    throw new ServiceError('unauthenticated', 'Sign in or send `Authorization: Bearer <API key>`');
  return { ...deps, actor: request.actor, clientIp: request.ip };
}

/**
 * The caller's context in the organization chosen by the `Parley-Organization` header (or their first).
 * The lookup runs once per request: later calls get the same promise, so a refusal rejects them all
 * with the same error. The checks that throw synchronously stay synchronous (and are not memoised).
 */
export function organizationContext(deps: ServiceDeps, request: FastifyRequest): Promise<OrgContext> {
  if (request.organizationContextPromise) return request.organizationContextPromise;
  const header = request.headers[ORGANIZATION_HEADER];
  const requested = typeof header === 'string' && header.length > 0 ? header : undefined;
  if (requested !== undefined && !Id.safeParse(requested).success) {
    throw new ServiceError('organization_not_found', 'Organization not found');
  }
  const promise = enterOrganization(serviceContext(deps, request), requested);
  request.organizationContextPromise = promise;
  return promise;
}

export function setSessionCookie(reply: FastifyReply, token: string, expiresAt: Date, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure, path: '/' });
}

/**
 * A WebSocket opened with the session cookie must come from a page of this instance: browsers send
 * the cookie on upgrades from any site (SameSite=Lax does not stop a sibling origin), and the sockets
 * carry live audio and transcripts. Clients without an Origin (servers, CLIs) and API keys pass.
 */
export function assertCookieUpgradeFromThisInstance(deps: ServiceDeps, request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (request.csrfToken !== null && origin !== undefined && origin !== new URL(deps.publicUrl).origin) {
    throw new ServiceError(
      'forbidden',
      'A WebSocket with a session cookie may be opened from this instance only',
    );
  }
}
