// One call audio relay per process, chosen like the call command bus: over Redis when the process has
// one (the listener's WebSocket and the call may be on different processes), in memory otherwise.
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { InProcessCallAudioRelay, type CallAudioRelay } from './call-audio-relay.js';
import { RedisCallAudioRelay } from './redis-audio-relay.js';

export async function createCallAudioRelay(options: {
  redis?: Redis | undefined;
  logger: FastifyBaseLogger;
}): Promise<CallAudioRelay> {
  const { redis, logger } = options;
  return redis ? RedisCallAudioRelay.connect({ redis, logger }) : new InProcessCallAudioRelay(logger);
}
