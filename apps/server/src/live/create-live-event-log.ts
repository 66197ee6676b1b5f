// One live event log per process, chosen like the call command bus: a Redis stream per organization
// when the process has Redis (the call may be carried by another process than the one a dashboard is
// connected to), a ring in memory otherwise (the embedded default, where both are this process).
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { InProcessLiveEventLog } from './in-process-live-event-log.js';
import type { LiveEventLog } from './live-event-log.js';
import { RedisLiveEventLog } from './redis-live-event-log.js';

export async function createLiveEventLog(options: {
  redis?: Redis | undefined;
  logger: FastifyBaseLogger;
}): Promise<LiveEventLog> {
  const { redis, logger } = options;
  return redis ? RedisLiveEventLog.connect({ redis, logger }) : new InProcessLiveEventLog({ logger });
}
