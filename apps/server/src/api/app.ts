import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import { ServiceError, type ServiceDeps, type ToolOutbound } from '@parley/services';
import { registerApiRateLimit } from './plugins/api-rate-limit.js';
import { registerAuthentication } from './plugins/auth.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerIdempotency } from './plugins/idempotency.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerInputLimits } from './plugins/input-limits.js';
import { operationsRoutes, type Readiness } from './routes/operations.js';
import { HOME_PAGE, SETUP_PAGE } from './pages/setup-page.js';
import { V1_ROUTES } from './routes/v1/index.js';
import type { ApiEnv } from './types.js';
import type { LiveAudioEnv } from '../live/call-audio-stream.js';
import { InProcessLiveEventLog } from '../live/in-process-live-event-log.js';
import type { LiveEventLog } from '../live/live-event-log.js';

export interface AppOptions {
  deps: ServiceDeps;
  version: string;
  role: string;
  /** Largest accepted request body; a larger one is a 413 payload_too_large. */
  bodyLimitBytes: number;
  trustProxy: boolean;
  loginRateLimitPerMinute: number;
  /**
   * API requests per minute for each API key, each signed-in user and each anonymous client IP
   * (PARLEY_API_RATE_LIMIT_PER_MINUTE); DEFAULT_API_RATE_LIMIT_PER_MINUTE when absent.
   */
  apiRateLimitPerMinute?: number;
  checkReady: () => Promise<Readiness>;
  /** Shared rate-limit counters across processes; in memory when absent. */
  redis?: Redis;
  metricsToken?: string | undefined;
  /** Key prefix for the shared rate-limit counters. */
  rateLimitNamespace?: string;
  logger?: FastifyServerOptions['loggerInstance'];
  /** The operator's outbound settings for tool requests (PARLEY_OUTBOUND_ALLOWED_HOSTS); none allowed when absent. */
  outbound?: ToolOutbound;
  /** Routes mounted beside the API (the carriers' webhooks and media sockets, on processes that carry calls). */
  extraRoutes?: (app: FastifyInstance) => Promise<void>;
  /** Supervisor listen (GET /calls/:id/listen): the call command bus and the call audio relay. */
  liveAudio?: LiveAudioEnv;
  /**
   * The process's live event log (GET /events); one in memory, closed with the app, when absent (the
   * API then sees only the calls this process carries).
   */
  liveEvents?: LiveEventLog;
}

export const DEFAULT_API_RATE_LIMIT_PER_MINUTE = 600;

/** Largest WebSocket message accepted (a second of 48 kHz PCM16 in base64 JSON from a carrier is ≈ 130 KB). */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 256 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Builds the HTTP application; `main.ts` listens with it, tests `inject()` into it. */
export async function buildApp(options: AppOptions) {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustProxy,
    // On shutdown, idle keep-alive sockets are closed at once; busy ones finish their request first.
    forceCloseConnections: 'idle',
    // A caller-supplied request id is kept (to correlate with their logs) if it looks like one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<ZodTypeProvider>();

  // The API speaks JSON only; any other body is a 415 rather than a string that fails validation.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // A keep-alive socket that was busy when shutdown began would otherwise hold close() open forever:
  // answers sent while closing tell the client to hang up.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  registerErrorHandling(app);
  registerInputLimits(app);
  const metrics = registerMetrics(app);
  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    ...(options.redis
      ? { redis: options.redis, nameSpace: options.rateLimitNamespace ?? 'parley-rate-limit:' }
      : {}),
    // The plugin has set Retry-After already; the error handler writes the standard error body.
    errorResponseBuilder: (_request, context) => {
      const retryAfterSeconds = Math.ceil(context.ttl / 1000);
      return new ServiceError('rate_limited', `Too many requests; retry in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    },
  });
  // Registered once for the whole server (a second registration would route every upgrade twice): the
  // API's listen socket and the carriers' media sockets (whose largest messages set the limit).
  await app.register(websocket, { options: { maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES } });
  // A runtime process terminates media and runs calls; only api (and all) serve the REST API and pages.
  const servesApi = options.role !== 'runtime';
  if (servesApi) await registerApiDocs(app, options.version);
  operationsRoutes(app, { ...options, startedAt: new Date(), metrics });
  if (servesApi) await registerApi(app, options);
  if (options.extraRoutes) await options.extraRoutes(app);
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

async function registerApiDocs(app: App, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Parley API',
        version: version,
        description:
          'Authenticate with a session cookie (dashboard) or `Authorization: Bearer <API key>`. ' +
          'Pick the organization with the `Parley-Organization` header. Errors are `{"error": {code, message, details, requestId}}`.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: prly_…' },
          session: { type: 'apiKey', in: 'cookie', name: 'parley_session' },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
}

async function registerApi(app: App, options: AppOptions): Promise<void> {
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html').send(HOME_PAGE),
  );
  app.get('/setup', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .send(SETUP_PAGE),
  );

  const env: ApiEnv = {
    deps: options.deps,
    secureCookies: options.deps.publicUrl.startsWith('https://'),
    loginRateLimitPerMinute: options.loginRateLimitPerMinute,
    outbound: options.outbound ?? { allowedHosts: [] },
    ...(options.liveAudio ? { liveAudio: options.liveAudio } : {}),
    liveEvents: options.liveEvents ?? ownLiveEventLog(app),
  };
  await app.register(
    async (v1) => {
      registerAuthentication(v1, options.deps);
      // After authentication (it needs the caller), before an idempotent replay (a replay is a request too).
      registerApiRateLimit(v1, {
        perMinute: options.apiRateLimitPerMinute ?? DEFAULT_API_RATE_LIMIT_PER_MINUTE,
      });
      registerIdempotency(v1, options.deps);
      for (const routes of V1_ROUTES) routes(v1.withTypeProvider<ZodTypeProvider>(), env);
    },
    { prefix: '/api/v1' },
  );
}

function ownLiveEventLog(app: App): LiveEventLog {
  const log = new InProcessLiveEventLog({ logger: app.log });
  app.addHook('onClose', () => log.close());
  return log;
}
