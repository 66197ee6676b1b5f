// A carrier's status (or answering-machine) callback, already verified and normalised by the server's
// webhook route. Calls a runtime is carrying are finished by that runtime when the media ends; the
// callback only adds the carrier's words. Calls that never reached a runtime (busy, no answer, failed,
// canceled before answer) are finished here.
import { and, calls, eq, type Database } from '@parley/db';
import { callStatusEvents } from '../webhooks/call-status-events.js';
import { enqueueWebhookEvents } from '../webhooks/enqueue-webhook-event.js';
import { isFinalCallStatus } from './call-status.js';

export interface CarrierStatus {
  carrierCallId: string;
  /** One of the CallStatus values (the carrier-neutral mapping of the carrier's status). */
  status: string;
  carrierReason: string;
  answeredBy?: string;
  durationSeconds?: number;
}

/**
 * The call it applied to (for the caller's logs and events), or null when no call has that id.
 * Outbound calls name our `callId` in their callback URL: a callback that beats the dial's answer (the
 * carrier's call id is not stored yet) still finds its call, and stores the carrier's id.
 */
export async function applyCarrierStatus(
  db: Database,
  carrier: string,
  update: CarrierStatus,
  now: Date,
  options: { callId?: string } = {},
): Promise<{ callId: string; organizationId: string; status: string } | null> {
  return db.transaction(async (tx) => {
    const [call] = await tx
      .select()
      .from(calls)
      .where(
        options.callId
          ? and(eq(calls.transport, carrier), eq(calls.id, options.callId))
          : and(eq(calls.transport, carrier), eq(calls.carrierCallId, update.carrierCallId)),
      )
      .for('update');
    if (!call) return null;
    if (call.carrierCallId !== null && call.carrierCallId !== update.carrierCallId) return null;
    const answered = update.answeredBy ? { answeredBy: update.answeredBy } : {};
    let set: Partial<typeof calls.$inferInsert> = {
      carrierReason: update.carrierReason,
      ...answered,
      ...(call.carrierCallId === null ? { carrierCallId: update.carrierCallId } : {}),
    };
    // An answered call that reached a machine (the carrier's answering-machine detection said so, now
    // or earlier) ends as voicemail, whoever ends it.
    const machine = (update.answeredBy ?? call.answeredBy) === 'machine';
    if (isFinalCallStatus(call.status)) {
      // Over already. When the runtime ended it, the carrier's final callback is its own account of
      // how (a hangup cause replacing "ringing"); when the carrier's callback ended it, that stands.
      const carrierEndedIt = call.endReason?.startsWith('carrier_') ?? false;
      set = isFinalCallStatus(update.status) && !carrierEndedIt ? set : answered;
      // A runtime that never heard the verdict (it reached another process) ended it as completed.
      if (machine && call.status === 'completed') {
        set = { ...set, status: 'voicemail', ...(carrierEndedIt ? { endReason: 'carrier_voicemail' } : {}) };
      }
    } else if (isFinalCallStatus(update.status)) {
      const carried = call.status === 'in_progress' && call.runtimeId !== null;
      if (!carried) {
        const status = machine && update.status === 'completed' ? 'voicemail' : update.status;
        set = { ...set, status, endReason: `carrier_${status}`, endedAt: now };
      }
    } else if (update.status === 'in_progress' && (call.status === 'queued' || call.status === 'ringing')) {
      set = { ...set, status: 'in_progress', answeredAt: call.answeredAt ?? now };
    } else if (update.status === 'ringing' && call.status === 'queued') {
      set = { ...set, status: 'ringing' };
    }
    if (Object.keys(set).length === 0)
      return { callId: call.id, organizationId: call.organizationId, status: call.status };
    const [row] = await tx
      .update(calls)
      .set({ ...set, updatedAt: now })
      .where(eq(calls.id, call.id))
      .returning();
    // Customers' webhooks hear of the change in the same transaction that makes it.
    await enqueueWebhookEvents(tx, call.organizationId, await callStatusEvents(tx, call.status, row!, now));
    return { callId: call.id, organizationId: call.organizationId, status: row!.status };
  });
}
