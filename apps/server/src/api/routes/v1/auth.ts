import { z } from 'zod';
import { LoginBody, Me, SetupBody, SetupStatus, SignupBody } from '@parley/contracts';
import {
  completeSetup,
  endSession,
  getMe,
  login,
  needsSetup,
  hashToken,
  readInstanceSettings,
  signup,
  ServiceError,
  userActor,
  type ServiceContext,
  type SignedIn,
} from '@parley/services';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  clearSessionCookie,
  organizationContext,
  serviceContext,
  SESSION_COOKIE,
  setSessionCookie,
} from '../../plugins/auth.js';
import type { ApiEnv, RouteModule } from '../../types.js';

const anonymousContext = (env: ApiEnv, request: FastifyRequest): ServiceContext => ({
  ...env.deps,
  actor: { type: 'anonymous' },
  clientIp: request.ip,
});

export const authRoutes: RouteModule = (app, env) => {
  const tags = ['auth'];
  // Brute-force protection: per client IP, in Redis when configured so all processes share it.
  const rateLimit = { max: env.loginRateLimitPerMinute, timeWindow: '1 minute' };

  // The per-account counter is keyed by a hash, so no email address sits in Redis.
  const accountLimit = app.createRateLimit({
    ...rateLimit,
    keyGenerator: (request) => `login-account:${hashToken((request.body as { email?: string }).email ?? '')}`,
  });

  app.get(
    '/auth/status',
    {
      schema: {
        tags,
        summary: 'Whether the instance awaits its setup link and whether sign-up is open',
        response: { 200: SetupStatus },
      },
    },
    async () => ({
      needsSetup: await needsSetup(env.deps),
      signupEnabled: (await readInstanceSettings(env.deps.db)).signupEnabled ?? env.deps.signupEnabled,
    }),
  );

  app.post(
    '/auth/setup',
    {
      config: { rateLimit },
      schema: {
        tags,
        summary: 'Create the first owner with the one-time setup link',
        body: SetupBody,
        response: { 201: Me },
      },
    },
    async (request, reply) => {
      const signedIn = await completeSetup(anonymousContext(env, request), request.body);
      return reply.code(201).send(await withOrganizations(env, reply, request, signedIn));
    },
  );

  app.post(
    '/auth/signup',
    {
      config: { rateLimit },
      schema: {
        tags,
        summary: 'Create a user and an organization they own',
        body: SignupBody,
        response: { 201: Me },
      },
    },
    async (request, reply) => {
      const signedIn = await signup(anonymousContext(env, request), request.body);
      return reply.code(201).send(await withOrganizations(env, reply, request, signedIn));
    },
  );

  app.post(
    '/auth/login',
    {
      config: { rateLimit },
      // Guessing one account's password from many addresses is limited per account too.
      preHandler: async (request) => {
        const attempt = await accountLimit(request);
        if (!attempt.isAllowed && attempt.isExceeded) {
          throw new ServiceError(
            'rate_limited',
            `Too many sign-in attempts for this account; retry in ${attempt.ttlInSeconds} s`,
          );
        }
      },
      schema: { tags, summary: 'Sign in with email and password', body: LoginBody, response: { 200: Me } },
    },
    async (request, reply) => {
      const signedIn = await login(anonymousContext(env, request), request.body);
      return withOrganizations(env, reply, request, signedIn);
    },
  );

  app.post(
    '/auth/logout',
    { schema: { tags, summary: 'End the session', response: { 204: z.null() } } },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token)
        await endSession(
          request.actor ? serviceContext(env.deps, request) : anonymousContext(env, request),
          token,
        );
      clearSessionCookie(reply, env.secureCookies);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me',
    { schema: { tags, summary: 'The signed-in user, their organizations and roles', response: { 200: Me } } },
    async (request) => {
      const ctx = serviceContext(env.deps, request);
      // A user who belongs to no organization (or named one they are not in) still has a profile.
      const current = await organizationContext(env.deps, request).catch((error: unknown) => {
        if (error instanceof ServiceError) return null;
        throw error;
      });
      return getMe(ctx, { organizationId: current?.organizationId ?? null, csrfToken: request.csrfToken });
    },
  );
};

/** Sets the session cookie and answers with the signed-in user's profile. */
async function withOrganizations(
  env: ApiEnv,
  reply: FastifyReply,
  request: FastifyRequest,
  signedIn: SignedIn,
): Promise<Me> {
  setSessionCookie(reply, signedIn.session.token, signedIn.session.expiresAt, env.secureCookies);
  const ctx = { ...env.deps, actor: userActor(signedIn.user), clientIp: request.ip };
  return getMe(ctx, { organizationId: signedIn.organizationId, csrfToken: signedIn.session.csrfToken });
}
