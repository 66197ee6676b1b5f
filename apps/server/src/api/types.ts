import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServiceDeps, ToolOutbound } from '@parley/services';

/** A Fastify instance whose route schemas are zod schemas. */
export type ApiApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What route modules get: the service dependencies and a few edge settings. */
export interface ApiEnv {
  deps: ServiceDeps;
  /** Set the Secure flag on cookies (the public URL is https). */
  secureCookies: boolean;
  loginRateLimitPerMinute: number;
  /** Requests to customers' tool servers (test, discovery): the operator's allowed hosts. */
  outbound: ToolOutbound;
}

/** A route module registers the routes of one resource. */
export type RouteModule = (app: ApiApp, env: ApiEnv) => void;
