// One call command bus per process: over Redis when the process has one (several processes may carry
// calls), in memory otherwise (the embedded default, where every call is carried here).
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { CallCommandBus } from './call-command-bus.js';
import { InProcessCallCommandBus } from './in-process-bus.js';
import { RedisCallCommandBus } from './redis-bus.js';

export async function createCallCommandBus(options: {
  redis?: Redis | undefined;
  logger: FastifyBaseLogger;
}): Promise<CallCommandBus> {
  const { redis, logger } = options;
  return redis ? RedisCallCommandBus.connect({ redis, logger }) : new InProcessCallCommandBus(logger);
}
