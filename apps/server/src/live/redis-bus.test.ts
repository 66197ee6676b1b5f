// Against the Redis at 127.0.0.1:6379: two buses with their own clients stand for two processes.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallCommand } from './call-commands.js';
import { RedisCallCommandBus } from './redis-bus.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });

/** Every Redis connection a test opened, quit after it. */
let clients: Redis[] = [];
let buses: RedisCallCommandBus[] = [];
/** A channel prefix of this test alone: parallel test files on the same Redis never hear each other. */
let channelPrefix: string;

const client = async () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  clients.push(redis);
  return redis;
};
/** A bus as a separate process would have it: its own Redis client. */
const processBus = async () => {
  const bus = await RedisCallCommandBus.connect({ redis: await client(), logger, channelPrefix });
  buses.push(bus);
  return bus;
};
const channelOf = (runtimeId: string) => `${channelPrefix}:runtime:${runtimeId}:commands`;

/** Collects what a listener hears; `next()` resolves with the next command (no sleeping). */
function inbox() {
  const received: CallCommand[] = [];
  return {
    received,
    handler: (command: CallCommand) => void received.push(command),
    count: (n: number) => vi.waitFor(() => expect(received).toHaveLength(n), { timeout: 5_000, interval: 5 }),
  };
}

beforeEach(() => {
  channelPrefix = `parley-test-${randomUUID()}`;
});
afterEach(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
  await Promise.all(clients.map((redis) => redis.quit()));
  buses = [];
  clients = [];
});

describe('the Redis call command bus', () => {
  it('carries a command from one process to the listener of its runtime on another, and to no other runtime', async () => {
    const apiProcess = await processBus();
    const runtimeA = await processBus();
    const runtimeB = await processBus();
    const onA = inbox();
    const onB = inbox();
    await runtimeA.listen('rt-a', onA.handler);
    await runtimeB.listen('rt-b', onB.handler);

    const verdict: CallCommand = { type: 'machine_answered', callId: randomUUID(), greetingEnded: 'unknown' };
    const ended: CallCommand = { type: 'carrier_ended', callId: randomUUID() };
    await apiProcess.send('rt-b', verdict);
    await apiProcess.send('rt-a', ended);
    await onB.count(1);
    await onA.count(1);
    expect(onB.received).toEqual([verdict]);
    expect(onA.received).toEqual([ended]);
  });

  it('drops a message that is not a command, counting it, and goes on with the next', async () => {
    const sender = await processBus();
    const runtime = await processBus();
    const heard = inbox();
    await runtime.listen('rt-a', heard.handler);
    const raw = await client();
    const callId = randomUUID();
    await raw.publish(channelOf('rt-a'), 'not json');
    await raw.publish(channelOf('rt-a'), JSON.stringify({ type: 'self_destruct', callId }));
    await raw.publish(channelOf('rt-a'), JSON.stringify({ type: 'machine_answered', callId }));
    const command: CallCommand = { type: 'carrier_ended', callId };
    await sender.send('rt-a', command);
    // Redis delivers in publish order: once the command is heard, the three before it were seen.
    await heard.count(1);
    expect(heard.received).toEqual([command]);
    expect(runtime.dropped).toBe(3);
  });

  it('stops delivering once a listener unsubscribes or its bus closes', async () => {
    const runtime = await processBus();
    const first = inbox();
    const second = inbox();
    const unsubscribe = await runtime.listen('rt-a', first.handler);
    await runtime.listen('rt-b', second.handler);
    const raw = await client();

    await unsubscribe();
    // Nobody subscribes to the channel any more: Redis has no one to hand a command to.
    expect(await raw.publish(channelOf('rt-a'), '{}')).toBe(0);
    expect(await raw.publish(channelOf('rt-b'), '{}')).toBe(1);

    await runtime.close();
    expect(await raw.publish(channelOf('rt-b'), '{}')).toBe(0);
    await expect(runtime.send('rt-b', { type: 'carrier_ended', callId: randomUUID() })).rejects.toThrow(
      'the call command bus is closed',
    );
  });
});
