// Voice runtimes register and heartbeat; a call whose runtime has stopped heartbeating (a crash, a
// kill, a lost machine) can never be finished by it, so the sweeper closes it with `runtime_lost`
// instead of leaving it "in progress" forever. Every runtime sweeps at start-up and periodically.
import { and, calls, eq, inArray, isNotNull, lt, or, runtimes, sql, type Database } from '@parley/db';

/** Statuses of a call that a runtime is (or was about to start) carrying. */
export const LIVE_CALL_STATUSES = ['ringing', 'in_progress'] as const;

export async function registerRuntime(db: Database, runtimeId: string, now: Date): Promise<void> {
  await db
    .insert(runtimes)
    .values({ id: runtimeId, startedAt: now, heartbeatAt: now, draining: false })
    .onConflictDoUpdate({ target: runtimes.id, set: { heartbeatAt: now, draining: false } });
}

export async function heartbeatRuntime(db: Database, runtimeId: string, now: Date): Promise<void> {
  await db.update(runtimes).set({ heartbeatAt: now }).where(eq(runtimes.id, runtimeId));
}

/**
 * Closes the live calls of runtimes silent for longer than `staleAfterMs` (or unknown to the registry),
 * and forgets those runtimes. Returns the ids of the calls it closed.
 */
export async function sweepLostCalls(
  db: Database,
  options: { now: Date; staleAfterMs: number },
): Promise<string[]> {
  const staleBefore = new Date(options.now.getTime() - options.staleAfterMs);
  return db.transaction(async (tx) => {
    const stale = tx.select({ id: runtimes.id }).from(runtimes).where(lt(runtimes.heartbeatAt, staleBefore));
    const known = tx.select({ id: runtimes.id }).from(runtimes);
    const closed = await tx
      .update(calls)
      .set({
        status: 'failed',
        endReason: 'runtime_lost',
        endedAt: options.now,
        updatedAt: options.now,
      })
      .where(
        and(
          inArray(calls.status, [...LIVE_CALL_STATUSES]),
          isNotNull(calls.runtimeId),
          or(inArray(calls.runtimeId, stale), sql`${calls.runtimeId} not in ${known}`),
        ),
      )
      .returning({ id: calls.id });
    await tx.delete(runtimes).where(lt(runtimes.heartbeatAt, staleBefore));
    return closed.map((row) => row.id);
  });
}
