// Two runtime processes behind one load balancer, sharing the database and Redis: a carrier's webhook
// lands on process A while the call is carried by process B. The verdict and the final status must
// reach B's runtime, found through the call's record, and never A's.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { agents, agentVersions, calls } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { createUserAsOperator, SecretBox, type ServiceDeps } from '@parley/services';
import { actOnMachineVerdict } from '../telephony/machine-verdict.js';
import type { TelephonyEnv } from '../telephony/telephony-env.js';
import type { VoiceRuntime } from '../telephony/voice-runtime.js';
import { RedisCallCommandBus } from './redis-bus.js';
import { listenForCallCommands, type CallCommandTarget } from './runtime-commands.js';
import { sendCallCommand } from './send-call-command.js';

const logger = pino({ level: 'silent' });
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let deps: ServiceDeps;
let redisA: Redis;
let redisB: Redis;
let busA: RedisCallCommandBus;
let busB: RedisCallCommandBus;
let organizationId: string;
let agentId: string;

/** What a runtime was asked, as VoiceRuntime would be. */
function runtimeSpy() {
  return {
    carrierEnded: vi.fn<CallCommandTarget['carrierEnded']>(),
    answeredByMachine: vi.fn<CallCommandTarget['answeredByMachine']>(() => true),
    listenToCall: vi.fn<CallCommandTarget['listenToCall']>(),
    stopListeningToCall: vi.fn<CallCommandTarget['stopListeningToCall']>(),
    controlCall: vi.fn<CallCommandTarget['controlCall']>(() => true),
  };
}
const runtimeA = runtimeSpy();
const runtimeB = runtimeSpy();

/** Process A's routes: its own runtime is never asked directly (the spy would throw if it were). */
const envOfA = (): TelephonyEnv => ({
  deps,
  commands: busA,
  logger,
  runtime: new Proxy({} as VoiceRuntime, {
    get: () => {
      throw new Error('a route asked its own process’s runtime directly');
    },
  }),
});

const callCarriedBy = async (runtimeId: string | null) => {
  const [row] = await database.db
    .insert(calls)
    .values({
      organizationId,
      agentId,
      agentVersion: 1,
      direction: 'outbound',
      transport: 'twilio',
      status: runtimeId ? 'in_progress' : 'ringing',
      runtimeId,
    })
    .returning({ id: calls.id });
  return row!.id;
};

beforeAll(async () => {
  database = await createTestDatabase();
  deps = {
    db: database.db,
    secretBox: new SecretBox('a test instance secret that is long enough'),
    publicUrl: 'http://parley.test',
    signupEnabled: true,
    sessionTtlMs: 60_000,
  };
  ({ organizationId } = await createUserAsOperator(
    { ...deps, actor: { type: 'system', label: 'test' }, clientIp: null },
    {
      email: 'owner@example.test',
      password: 'correct horse battery',
      name: 'Owner',
      organizationName: 'Acme',
      isInstanceAdmin: false,
    },
  ));
  const [agent] = await database.db
    .insert(agents)
    .values({ organizationId, name: 'Reception', draft: {}, publishedVersion: 1 })
    .returning({ id: agents.id });
  agentId = agent!.id;
  await database.db.insert(agentVersions).values({ organizationId, agentId, version: 1, config: {} });

  // Each process has its own Redis client and bus; a channel prefix of this run keeps others out.
  const channelPrefix = `parley-test-${randomUUID()}`;
  redisA = new Redis('redis://127.0.0.1:6379');
  redisB = new Redis('redis://127.0.0.1:6379');
  busA = await RedisCallCommandBus.connect({ redis: redisA, logger, channelPrefix });
  busB = await RedisCallCommandBus.connect({ redis: redisB, logger, channelPrefix });
  await listenForCallCommands(busA, 'rt-a', runtimeA, logger);
  await listenForCallCommands(busB, 'rt-b', runtimeB, logger);
});

afterAll(async () => {
  await busA?.close();
  await busB?.close();
  await redisA?.quit();
  await redisB?.quit();
  await database?.close();
});

describe('a carrier webhook on one runtime process for a call carried by another', () => {
  it('hands the answering-machine verdict to the runtime carrying the call', async () => {
    const callId = await callCarriedBy('rt-b');
    await actOnMachineVerdict(envOfA(), callId, {
      carrierCallId: 'CA123',
      status: 'in_progress',
      carrierReason: 'in-progress',
      answeredBy: 'machine',
      machineGreetingEnded: true,
    });
    await vi.waitFor(() =>
      expect(runtimeB.answeredByMachine).toHaveBeenCalledWith(callId, { greetingEnded: true }),
    );
    expect(runtimeA.answeredByMachine).not.toHaveBeenCalled();
  });

  it('hands the carrier’s end of the call to the runtime carrying it', async () => {
    const callId = await callCarriedBy('rt-b');
    expect(await sendCallCommand(envOfA(), { type: 'carrier_ended', callId })).toBe('sent');
    await vi.waitFor(() => expect(runtimeB.carrierEnded).toHaveBeenCalledWith(callId));
    expect(runtimeA.carrierEnded).not.toHaveBeenCalled();
  });

  it('sends nothing for a call no runtime has claimed yet', async () => {
    const callId = await callCarriedBy(null);
    expect(await sendCallCommand(envOfA(), { type: 'carrier_ended', callId })).toBe('not_carried');
  });
});
