// Some carriers name a placed call by one id when it is created and by another once it exists (Plivo:
// request_uuid, then CallUUID). The record follows the carrier's current name for it, so later
// callbacks find it. Only a call still known by the old id moves: a replayed or stale callback changes
// nothing.
import { and, calls, eq, type Database } from '@parley/db';

export async function rekeyCarrierCall(
  db: Database,
  change: { callId: string; carrier: string; fromCarrierCallId: string | undefined; toCarrierCallId: string },
  now: Date,
): Promise<void> {
  const { callId, carrier, fromCarrierCallId, toCarrierCallId } = change;
  if (!fromCarrierCallId || fromCarrierCallId === toCarrierCallId) return;
  await db
    .update(calls)
    .set({ carrierCallId: toCarrierCallId, updatedAt: now })
    .where(
      and(eq(calls.id, callId), eq(calls.transport, carrier), eq(calls.carrierCallId, fromCarrierCallId)),
    );
}
