// Against the Redis at 127.0.0.1:6379: two logs with their own clients stand for two processes (the
// runtime carrying a call appends, the API process a dashboard is connected to reads).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiveEvent, LiveEventInput } from '@parley/contracts';
import type { LiveEventListener } from './live-event-log.js';
import { RedisLiveEventLog } from './redis-live-event-log.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });
const CALL = randomUUID();

let clients: Redis[] = [];
let logs: RedisLiveEventLog[] = [];
let keyPrefix: string;

const client = async () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  clients.push(redis);
  return redis;
};
/** A log as a separate process would have it: its own Redis client. */
const processLog = async (retention?: { maxEvents: number }) => {
  const log = await RedisLiveEventLog.connect({
    redis: await client(),
    logger,
    keyPrefix,
    ...(retention ? { retention } : {}),
  });
  logs.push(log);
  return log;
};

const said = (text: string): LiveEventInput => ({
  type: 'transcript.final',
  callId: CALL,
  agentId: null,
  occurredAt: new Date().toISOString(),
  data: { text },
});

function recorder() {
  const heard: string[] = [];
  const events: LiveEvent[] = [];
  const listener: LiveEventListener = {
    event: (event) => {
      events.push(event);
      heard.push(String(event.data['text']));
    },
    reset: () => heard.push('reset'),
  };
  const count = (n: number) =>
    vi.waitFor(() => expect(heard).toHaveLength(n), { timeout: 5_000, interval: 5 });
  return { heard, events, listener, count };
}

beforeEach(() => {
  keyPrefix = `parley-test-${randomUUID()}`;
});
afterEach(async () => {
  await Promise.all(logs.map((log) => log.close()));
  const redis = await client();
  const keys = await redis.keys(`${keyPrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await Promise.all(clients.map((c) => c.quit()));
  logs = [];
  clients = [];
});

describe('the Redis live event log', () => {
  it("carries one process's events to another's listeners, in order, and only the organization's own", async () => {
    const runtime = await processLog();
    const api = await processLog();
    const org = randomUUID();
    const otherOrg = randomUUID();
    const dashboards = [recorder(), recorder(), recorder()];
    for (const dashboard of dashboards) await api.subscribe(org, {}, dashboard.listener);
    const stranger = recorder();
    await api.subscribe(otherOrg, {}, stranger.listener);

    const texts = Array.from({ length: 50 }, (_, i) => `word ${i}`);
    for (const text of texts) runtime.append(org, said(text));
    runtime.append(otherOrg, said('elsewhere'));
    for (const dashboard of dashboards) {
      await dashboard.count(50);
      expect(dashboard.heard).toEqual(texts);
    }
    await stranger.count(1);
    expect(stranger.heard).toEqual(['elsewhere']);
  });

  it('resumes after an id on another process with every later event exactly once, while events keep coming', async () => {
    const runtime = await processLog();
    const api = await processLog();
    const org = randomUUID();
    const first = recorder();
    await api.subscribe(org, {}, first.listener);
    for (let i = 0; i < 10; i += 1) runtime.append(org, said(`${i}`));
    await first.count(10);

    // Disconnected after the fourth; the call goes on, and resuming races with new appends.
    const lastSeen = first.events[3]!.id;
    for (let i = 10; i < 20; i += 1) runtime.append(org, said(`${i}`));
    const resumed = recorder();
    const subscribing = api.subscribe(org, { after: lastSeen }, resumed.listener);
    for (let i = 20; i < 30; i += 1) runtime.append(org, said(`${i}`));
    await subscribing;
    for (let i = 30; i < 40; i += 1) runtime.append(org, said(`${i}`));
    await resumed.count(36);
    expect(resumed.heard).toEqual(Array.from({ length: 36 }, (_, i) => `${i + 4}`));
  });

  it('forgets an erased call on every process: a resume from before replays the other calls only', async () => {
    const runtime = await processLog();
    const api = await processLog();
    const org = randomUUID();
    const first = recorder();
    await api.subscribe(org, {}, first.listener);
    runtime.append(org, said('first'));
    runtime.append(org, { ...said('kept'), callId: randomUUID() });
    runtime.append(org, said('my card is 4111'));
    await first.count(3);

    await api.forgetCall(org, CALL);
    const resumed = recorder();
    await api.subscribe(org, { after: first.events[0]!.id }, resumed.listener);
    await resumed.count(1);
    expect(resumed.heard).toEqual(['kept']);
  });

  it('says events were missed when the stream was trimmed past the id, then goes on live', async () => {
    const runtime = await processLog({ maxEvents: 50 });
    const api = await processLog({ maxEvents: 50 });
    const org = randomUUID();
    const first = recorder();
    await api.subscribe(org, {}, first.listener);
    // Redis trims an approximate MAXLEN by whole nodes of the stream: 300 events drop the first ones.
    for (let round = 0; round < 15; round += 1) {
      for (let i = round * 20; i < (round + 1) * 20; i += 1) runtime.append(org, said(`${i}`));
      await first.count((round + 1) * 20);
    }
    expect(first.heard).toEqual(Array.from({ length: 300 }, (_, i) => `${i}`));

    const late = recorder();
    await api.subscribe(org, { after: first.events[0]!.id }, late.listener);
    runtime.append(org, said('next'));
    await late.count(2);
    expect(late.heard).toEqual(['reset', 'next']);

    const recent = recorder();
    await api.subscribe(org, { after: first.events[298]!.id }, recent.listener);
    await recent.count(2);
    expect(recent.heard).toEqual(['299', 'next']);
  });

  it('answers an id the stream never gave (newer than its newest) with a reset', async () => {
    const runtime = await processLog();
    const api = await processLog();
    const org = randomUUID();
    const first = recorder();
    await api.subscribe(org, {}, first.listener);
    runtime.append(org, said('kept'));
    await first.count(1);
    const resumed = recorder();
    await api.subscribe(org, { after: `${Date.now() + 3_600_000}-0` }, resumed.listener);
    runtime.append(org, said('next'));
    await resumed.count(2);
    expect(resumed.heard).toEqual(['reset', 'next']);
  });

  it('stops delivering once a subscription is closed', async () => {
    const runtime = await processLog();
    const api = await processLog();
    const org = randomUUID();
    const leaving = recorder();
    const staying = recorder();
    const subscription = await api.subscribe(org, {}, leaving.listener);
    await api.subscribe(org, {}, staying.listener);
    subscription.close();
    runtime.append(org, said('after'));
    await staying.count(1);
    expect(leaving.heard).toEqual([]);
  });
});
