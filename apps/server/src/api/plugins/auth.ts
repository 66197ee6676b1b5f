import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  authenticateApiKey,
  authenticateSession,
  enterOrganization,
  ServiceError,
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
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Works out who is calling: `Authorization: Bearer <api key>` or the session cookie. A presented but
 * invalid key is an error; a missing or stale cookie just means "anonymous". Cookie-authenticated
 * mutations must carry the session's CSRF token in `X-CSRF-Token`.
 */
export function registerAuthentication(app: FastifyInstance, deps: ServiceDeps): void {
  app.decorateRequest('actor', null);
  app.decorateRequest('csrfToken', null);
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
    request.actor = {
      type: 'user',
      userId: session.user.id,
      email: session.user.email,
      isInstanceAdmin: session.user.isInstanceAdmin,
    };
    request.csrfToken = session.csrfToken;
    if (!SAFE_METHODS.has(request.method)) {
      const presented = request.headers[CSRF_HEADER];
      if (typeof presented !== 'string' || !sameToken(presented, session.csrfToken)) {
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

/** The caller's context in the organization chosen by the `Parley-Organization` header (or their first). */
export function organizationContext(deps: ServiceDeps, request: FastifyRequest): Promise<OrgContext> {
  const header = request.headers[ORGANIZATION_HEADER];
  const requested = typeof header === 'string' && header.length > 0 ? header : undefined;
  if (requested !== undefined && !/^[0-9a-f-]{36}$/i.test(requested)) {
    throw new ServiceError('organization_not_found', 'Organization not found');
  }
  return enterOrganization(serviceContext(deps, request), requested);
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
