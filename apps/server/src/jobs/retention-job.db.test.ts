// The job `parley serve` starts: it purges on its own shortly after start-up and again every interval;
// stopping it waits for the pass under way.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { calls, eq, organizations, transcriptTurns, type DatabaseHandle } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { createLogger } from '../logger.js';
import { startRetentionJob } from './retention-job.js';

let database: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

const NOW = new Date('2026-11-21T10:00:00Z');

/**
 * The job's clock: its first reading is `first`, later ones NOW; each reading is reported so the test
 * can wait for the job's n-th pass.
 */
function passClock(first: Date) {
  const waiters: { n: number; resolve: () => void }[] = [];
  let readings = 0;
  return {
    now: () => {
      readings += 1;
      for (const waiter of waiters.filter((w) => w.n <= readings)) waiter.resolve();
      return readings === 1 ? first : NOW;
    },
    passes: (n: number) => new Promise<void>((resolve) => waiters.push({ n, resolve })),
  };
}

it('purges at start-up and every interval, and stops after the pass under way', async () => {
  const [org] = await database.db
    .insert(organizations)
    .values({ name: 'Acme', transcriptRetentionDays: 7 })
    .returning();
  const [call] = await database.db
    .insert(calls)
    .values({
      organizationId: org!.id,
      direction: 'web',
      transport: 'web',
      status: 'completed',
      endedAt: new Date(NOW.getTime() - 10 * 86_400_000),
    })
    .returning();
  await database.db
    .insert(transcriptTurns)
    .values({ callId: call!.id, organizationId: org!.id, seq: 1, role: 'user', text: 'hi', atMs: 0 });
  const turnsLeft = async () =>
    (await database.db.select().from(transcriptTurns).where(eq(transcriptTurns.callId, call!.id))).length;

  // At the first pass the call is only 5 days old: only the pass after the interval purges it.
  const clock = passClock(new Date(NOW.getTime() - 5 * 86_400_000));
  const job = startRetentionJob({
    db: database.db,
    logger: createLogger('silent'),
    now: clock.now,
    firstRunDelayMs: 0,
    intervalMs: 20,
  });
  try {
    await clock.passes(2);
  } finally {
    await job.stop();
  }
  expect(await turnsLeft()).toBe(0);
});

it('never runs when stopped before its first pass', async () => {
  let ran = false;
  const job = startRetentionJob({
    db: database.db,
    logger: createLogger('silent'),
    now: () => {
      ran = true;
      return NOW;
    },
    firstRunDelayMs: 60_000,
  });
  await job.stop();
  expect(ran).toBe(false);
});
