// Voice runtimes register and heartbeat; a call whose runtime has stopped heartbeating (a crash, a
// kill, a lost machine) can never be finished by it, so the sweeper closes it with `runtime_lost`
// instead of leaving it "in progress" forever. Every runtime sweeps at start-up and periodically.
//
// The row is also the truth about draining: any process may set `draining` (drainRuntime), the runtime
// learns it from its next heartbeat, and every process choosing a runtime for a new call reads it.
import { and, calls, eq, inArray, isNotNull, lt, or, runtimes, sql, type Database } from '@parley/db';

/** How long a silent draining runtime stays in the list (and keeps its drain) before it is forgotten. */
export const DRAINING_ROW_KEPT_MS = 60 * 60_000;

/** Statuses of a call that a runtime is (or was about to start) carrying. */
export const LIVE_CALL_STATUSES = ['ringing', 'in_progress'] as const;

/** PARLEY_RUNTIME_STALE_AFTER_MS's default: a runtime silent this long is presumed dead. */
export const DEFAULT_RUNTIME_STALE_AFTER_MS = 30_000;

/** What a runtime says about itself when it registers. */
export interface RuntimeDetails {
  /** `all` or `runtime`: the role of the process. */
  role: string;
  version: string;
  host: string;
  /** Where carriers reach its media sockets (ws:// or wss://); null: the instance's public URL. */
  mediaUrl: string | null;
}

/**
 * Registers a runtime as live. Re-registering an id that is still known (a process that restarts with
 * the same id, or one whose row was swept while it was stalled) keeps its drain: draining is the
 * operator's decision, which stands until they resume it.
 */
export async function registerRuntime(
  db: Database,
  runtimeId: string,
  now: Date,
  details: Partial<RuntimeDetails> = {},
): Promise<void> {
  const described = {
    ...(details.role === undefined ? {} : { role: details.role }),
    ...(details.version === undefined ? {} : { version: details.version }),
    ...(details.host === undefined ? {} : { host: details.host }),
    ...(details.mediaUrl === undefined ? {} : { mediaUrl: details.mediaUrl }),
  };
  await db
    .insert(runtimes)
    .values({ id: runtimeId, startedAt: now, heartbeatAt: now, draining: false, ...described })
    .onConflictDoUpdate({
      target: runtimes.id,
      set: { startedAt: now, heartbeatAt: now, activeCalls: 0, ...described },
    });
}

/**
 * Says the runtime is alive and how many calls it carries. Answers whether it is asked to drain, or
 * null when the registry no longer knows it (swept after a stall): it must register again.
 */
export async function heartbeatRuntime(
  db: Database,
  runtimeId: string,
  now: Date,
  activeCalls?: number,
): Promise<{ draining: boolean } | null> {
  const [row] = await db
    .update(runtimes)
    .set({ heartbeatAt: now, ...(activeCalls === undefined ? {} : { activeCalls }) })
    .where(eq(runtimes.id, runtimeId))
    .returning({ draining: runtimes.draining });
  return row ?? null;
}

/** Forgets a runtime that stopped cleanly (its calls have been ended and written). */
export async function unregisterRuntime(db: Database, runtimeId: string): Promise<void> {
  await db.delete(runtimes).where(eq(runtimes.id, runtimeId));
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
    // A draining runtime's row outlives a stall, so one that comes back still drains (registerRuntime
    // keeps the flag); a dead one's row goes after DRAINING_ROW_KEPT_MS.
    const forgetDrainingBefore = new Date(staleBefore.getTime() - DRAINING_ROW_KEPT_MS);
    await tx
      .delete(runtimes)
      .where(
        or(
          and(lt(runtimes.heartbeatAt, staleBefore), eq(runtimes.draining, false)),
          lt(runtimes.heartbeatAt, forgetDrainingBefore),
        ),
      );
    return closed.map((row) => row.id);
  });
}
