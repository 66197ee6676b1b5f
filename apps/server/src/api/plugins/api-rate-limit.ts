import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Whose budget a request spends: an API key's own (two keys of one organization never share one), a
 * signed-in user's (all their sessions and tabs together), or, for anonymous callers, the client IP.
 */
export function rateLimitBucket(request: FastifyRequest): string {
  const actor = request.actor;
  if (actor?.type === 'api_key') return `api-key:${actor.apiKeyId}`;
  if (actor?.type === 'user') return `user:${actor.userId}`;
  return `ip:${request.ip}`;
}

/**
 * Limits every /api/v1 request to `perMinute` per bucket. It runs as a preHandler registered after
 * authentication's, so the caller is already known: the key id comes from the lookup authentication
 * makes anyway, with no second query. Keying on the presented key's prefix before authentication
 * would let anyone who knows a prefix (it is shown in key lists) spend that key's budget. Requests
 * with a wrong key are refused by authentication before they get here.
 *
 * Routes with their own limit (login, sign-up, setup) are counted by that limit only: the plugin
 * marks a request once it has been counted.
 */
export function registerApiRateLimit(app: FastifyInstance, options: { perMinute: number }): void {
  app.addHook(
    'preHandler',
    app.rateLimit({ max: options.perMinute, timeWindow: '1 minute', keyGenerator: rateLimitBucket }),
  );
}
