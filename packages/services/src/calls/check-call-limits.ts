// The per-organization call limits, checked where the call is inserted. The organization's row is
// locked first, so a burst of concurrent requests is counted one at a time: each sees the calls the
// previous ones inserted, and no more than the limit get through.
import { and, calls, count, desc, eq, gt, inArray, organizations, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import type { CallLimits } from './call-dialer.js';

/** Statuses that hold a line: the call is about to ring, ringing or talking. */
const LIVE_STATUSES = ['queued', 'ringing', 'in_progress'];
const RATE_WINDOW_MS = 60_000;
/**
 * When a live call will end is unknown; this is a short, honest hint rather than a promise. Clients
 * that retry sooner are just refused again.
 */
const CONCURRENCY_RETRY_AFTER_SECONDS = 5;

/** Serialises call creation in one organization until the transaction ends. */
export async function lockOrganizationForCalls(tx: Executor, organizationId: string): Promise<void> {
  // NO KEY UPDATE, not UPDATE: inserts into the organization's other tables take KEY SHARE on this row
  // (their foreign key) and must not wait for a call being placed.
  await tx
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.id, organizationId))
    .for('no key update');
}

async function checkConcurrency(tx: Executor, organizationId: string, limits: CallLimits): Promise<void> {
  const [row] = await tx
    .select({ live: count() })
    .from(calls)
    .where(and(eq(calls.organizationId, organizationId), inArray(calls.status, LIVE_STATUSES)));
  const live = row?.live ?? 0;
  if (live >= limits.maxConcurrentCalls) {
    throw new ServiceError(
      'too_many_calls',
      `This organization already has ${live} live calls (the limit is ${limits.maxConcurrentCalls}); retry when one ends`,
      { retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS, limit: limits.maxConcurrentCalls },
    );
  }
}

async function checkRate(tx: Executor, organizationId: string, limits: CallLimits, now: Date): Promise<void> {
  // The newest `callsPerMinute` outbound calls in the window: if there are that many, the oldest of
  // them is the one that must leave the window before another call fits.
  const recent = await tx
    .select({ createdAt: calls.createdAt })
    .from(calls)
    .where(
      and(
        eq(calls.organizationId, organizationId),
        eq(calls.direction, 'outbound'),
        gt(calls.createdAt, new Date(now.getTime() - RATE_WINDOW_MS)),
      ),
    )
    .orderBy(desc(calls.createdAt))
    .limit(limits.callsPerMinute);
  const blocking = recent.length >= limits.callsPerMinute ? recent.at(-1) : undefined;
  if (blocking) {
    const leavesAt = blocking.createdAt.getTime() + RATE_WINDOW_MS;
    const retryAfterSeconds = Math.max(1, Math.ceil((leavesAt - now.getTime()) / 1000));
    throw new ServiceError(
      'call_rate_limited',
      `This organization placed ${limits.callsPerMinute} calls in the last minute (the limit); retry in ${retryAfterSeconds} s`,
      { retryAfterSeconds, limit: limits.callsPerMinute },
    );
  }
}

/**
 * Throws 429 `too_many_calls` or `call_rate_limited` (with `details.retryAfterSeconds`) when another
 * call would exceed the limits. Call it after lockOrganizationForCalls, in the inserting transaction.
 */
export async function checkCallLimits(
  tx: Executor,
  organizationId: string,
  limits: CallLimits,
  now: Date,
): Promise<void> {
  await checkConcurrency(tx, organizationId, limits);
  await checkRate(tx, organizationId, limits, now);
}
