// A new call no runtime can carry (every one is draining or gone): the carrier gets its refusal, and
// the call's record ends here, failed with `no_runtime_available`, so the organization sees why.
import { and, calls, eq, inArray, type Database } from '@parley/db';
import { callStatusEvents } from '../webhooks/call-status-events.js';
import { enqueueWebhookEvents } from '../webhooks/enqueue-webhook-event.js';

export const NO_RUNTIME_AVAILABLE = 'no_runtime_available';

/** Ends the call unless it is already past ringing (a callback or a cancel won the race). */
export async function refuseCallWithoutRuntime(db: Database, callId: string, now: Date): Promise<void> {
  await db.transaction(async (tx) => {
    const [before] = await tx
      .select({ status: calls.status })
      .from(calls)
      .where(eq(calls.id, callId))
      .for('update');
    if (!before) return;
    const [ended] = await tx
      .update(calls)
      .set({
        status: 'failed',
        endReason: NO_RUNTIME_AVAILABLE,
        endedAt: now,
        updatedAt: now,
        mediaTokenHash: null,
        mediaTokenExpiresAt: null,
      })
      .where(and(eq(calls.id, callId), inArray(calls.status, ['queued', 'ringing'])))
      .returning();
    if (!ended) return;
    await enqueueWebhookEvents(
      tx,
      ended.organizationId,
      await callStatusEvents(tx, before.status, ended, now),
    );
  });
}
