import { constantTimeEqual } from '@parley/services';
import { sendError } from '../plugins/errors.js';
import { z } from 'zod';
import type { Registry } from 'prom-client';
import type { ApiApp } from '../types.js';

export interface Readiness {
  ready: boolean;
  reason?: string;
}

export interface OperationsOptions {
  version: string;
  role: string;
  startedAt: Date;
  checkReady: () => Promise<Readiness>;
  metrics: Registry;
  /** When set, scrapers must present it as a bearer token. */
  metricsToken?: string | undefined;
}

/** Liveness, readiness, build info and Prometheus metrics: what a load balancer and a scraper need. */
export function operationsRoutes(app: ApiApp, options: OperationsOptions): void {
  const tags = ['operations'];
  app.get(
    '/healthz',
    {
      schema: {
        tags,
        summary: 'The process is alive',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags,
        summary: 'The database is reachable and migrated',
        response: {
          200: z.object({ status: z.literal('ready') }),
          503: z.object({ status: z.literal('not_ready'), reason: z.string() }),
        },
      },
    },
    async (_request, reply) => {
      const readiness = await options.checkReady();
      if (readiness.ready) return { status: 'ready' as const };
      return reply.code(503).send({ status: 'not_ready' as const, reason: readiness.reason ?? 'unknown' });
    },
  );
  app.get(
    '/api/v1/info',
    {
      schema: {
        tags,
        summary: 'Version, role and uptime of this process',
        response: {
          200: z.object({
            name: z.string(),
            version: z.string(),
            role: z.string(),
            uptimeSeconds: z.number(),
          }),
        },
      },
    },
    async () => ({
      name: 'parley',
      version: options.version,
      role: options.role,
      uptimeSeconds: Math.round((Date.now() - options.startedAt.getTime()) / 1000),
    }),
  );
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    const presented = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (options.metricsToken && !(presented && constantTimeEqual(presented, options.metricsToken))) {
      return sendError(
        request,
        reply,
        'unauthenticated',
        'GET /metrics needs `Authorization: Bearer <PARLEY_METRICS_TOKEN>`',
      );
    }
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });
}
