// A call that never got past queued or ringing holds one of its organization's lines (the concurrency
// limit counts it) until something closes it. Normally a carrier callback or the media socket does;
// when neither ever comes (a lost callback, a carrier outage, a process that died between recording the
// call and asking the carrier), nothing would. This sweep closes such calls once no carrier could still
// be ringing them. Each UPDATE re-checks its WHERE on the row it locks, so a callback that changes the
// call while the sweep runs wins: the sweep skips the row rather than overwriting it.
import { and, calls, eq, inArray, isNotNull, isNull, lt, or, type Database } from '@parley/db';
import { callStatusEvents } from '../webhooks/call-status-events.js';
import { enqueueWebhookEvents } from '../webhooks/enqueue-webhook-event.js';
import { MEDIA_TOKEN_TTL_MS } from './begin-inbound-call.js';

/** A dial is a single REST request with a 10 s timeout: a call still without a carrier id is lost. */
export const DEFAULT_DIAL_LOST_AFTER_MS = 120_000;
/** Carriers stop ringing after about 60 s; three minutes of silence leaves room for slow callbacks. */
export const DEFAULT_RING_LOST_AFTER_MS = 180_000;
/**
 * For carriers given the media token when the call is placed (Exotel, Telnyx): the token must outlive
 * the ringing, which the sweep bounds, plus the usual time to open the media socket once answered.
 */
export const DIALED_MEDIA_TOKEN_TTL_MS = DEFAULT_RING_LOST_AFTER_MS + MEDIA_TOKEN_TTL_MS;

/** The call was recorded but never reached the carrier (no carrier call id). */
export const DIAL_LOST = 'dial_lost';
/** The carrier had the call but never said how it went. */
export const NO_STATUS_FROM_CARRIER = 'no_status_from_carrier';

export interface UnansweredCallSweep {
  now: Date;
  /** A queued call with no carrier call id this long after it was created is closed as dial_lost. */
  dialLostAfterMs?: number;
  /**
   * A call the carrier has (ringing, or queued with a carrier call id) whose record has not changed
   * for this long is closed as no_status_from_carrier.
   */
  ringLostAfterMs?: number;
}

export interface SweptCalls {
  dialLost: string[];
  noStatusFromCarrier: string[];
}

function boundOf(name: string, value: number | undefined, fallback: number): number {
  const ms = value ?? fallback;
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`${name} must be a positive number of ms`);
  return ms;
}

/**
 * Closes queued and ringing calls that can no longer progress, as `failed` with the end reason
 * `dial_lost` or `no_status_from_carrier` (the carrier's own reason, if any, is kept). Returns the ids
 * of the calls it closed.
 */
export async function sweepUnansweredCalls(db: Database, options: UnansweredCallSweep): Promise<SweptCalls> {
  const { now } = options;
  const dialLostBefore = new Date(
    now.getTime() - boundOf('dialLostAfterMs', options.dialLostAfterMs, DEFAULT_DIAL_LOST_AFTER_MS),
  );
  const ringLostBefore = new Date(
    now.getTime() - boundOf('ringLostAfterMs', options.ringLostAfterMs, DEFAULT_RING_LOST_AFTER_MS),
  );
  const dialLost = await closeCalls(
    db,
    and(eq(calls.status, 'queued'), isNull(calls.carrierCallId), lt(calls.createdAt, dialLostBefore)),
    DIAL_LOST,
    now,
  );

  // Some carriers send no "ringing" callback, so a placed call can stay queued (with the carrier's id)
  // for all of its ringing: it is judged like a ringing one. Any callback moves updatedAt, so only a
  // call the carrier has been silent about for the whole bound is closed.
  const noStatus = await closeCalls(
    db,
    and(
      or(eq(calls.status, 'ringing'), and(eq(calls.status, 'queued'), isNotNull(calls.carrierCallId))),
      lt(calls.updatedAt, ringLostBefore),
    ),
    NO_STATUS_FROM_CARRIER,
    now,
  );

  return { dialLost, noStatusFromCarrier: noStatus };
}

/**
 * Closes the calls matching `where` as failed, and queues their webhook events in the same
 * transaction. The rows are locked first: a callback changing one meanwhile is waited for, and the
 * condition is checked again on what it wrote.
 */
async function closeCalls(
  db: Database,
  where: ReturnType<typeof and>,
  endReason: string,
  now: Date,
): Promise<string[]> {
  return db.transaction(async (tx) => {
    const found = await tx
      .select({ id: calls.id, status: calls.status })
      .from(calls)
      .where(where)
      .for('update');
    if (found.length === 0) return [];
    const closed = await tx
      .update(calls)
      .set({ status: 'failed', endReason, endedAt: now, updatedAt: now })
      .where(
        inArray(
          calls.id,
          found.map((row) => row.id),
        ),
      )
      .returning();
    const previous = new Map(found.map((row) => [row.id, row.status]));
    for (const call of closed) {
      const events = await callStatusEvents(tx, previous.get(call.id) ?? call.status, call, now);
      await enqueueWebhookEvents(tx, call.organizationId, events);
    }
    return closed.map((row) => row.id);
  });
}
