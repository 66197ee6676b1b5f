import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServiceDeps, ToolOutbound } from '@parley/services';
import type { LiveAudioEnv } from '../live/call-audio-stream.js';
import type { LiveEventLog } from '../live/live-event-log.js';

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
  /** Supervisor listen: absent on an app built without it (listening then closes as unavailable). */
  liveAudio?: LiveAudioEnv;
  /** The process's live event log: what GET /events streams, and where call status changes go. */
  liveEvents: LiveEventLog;
}

/** A route module registers the routes of one resource. */
export type RouteModule = (app: ApiApp, env: ApiEnv) => void;
