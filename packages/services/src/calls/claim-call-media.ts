// A carrier opened the media socket for a call: the token from our answer document must match (and
// is used up), the call must be on that carrier and not over. The call is then in progress on this
// runtime, and the runtime gets the agent version the call was routed to.
//
// A call `parley call simulate` started opens only on the simulated media socket, and a real call only
// on its carrier's: the socket says which it is, and the claim holds the line, so no route has to.
import { agentVersions, and, calls, eq, type Database } from '@parley/db';
import { ServiceError } from '../errors.js';
import { constantTimeEqual, hashToken } from '../secret-box.js';
import { callStatusEvents } from '../webhooks/call-status-events.js';
import { enqueueWebhookEvents } from '../webhooks/enqueue-webhook-event.js';
import { isFinalCallStatus } from './call-status.js';

export interface ClaimedCall {
  call: typeof calls.$inferSelect;
  /** The published agent version's configuration (validated when it was saved). */
  agentConfig: Record<string, unknown>;
}

export async function claimCallMedia(
  db: Database,
  claim: {
    callId: string;
    mediaToken: string;
    carrier: string;
    runtimeId: string;
    /** True on the simulated media socket, false on a carrier's own media route. */
    simulated: boolean;
  },
  now: Date,
): Promise<ClaimedCall> {
  // One message for every refusal: a guesser learns nothing about which part was wrong.
  const refused = () => new ServiceError('forbidden', 'This media stream is not authorised for a call');
  return db.transaction(async (tx) => {
    const [call] = await tx.select().from(calls).where(eq(calls.id, claim.callId)).for('update');
    if (
      !call ||
      call.transport !== claim.carrier ||
      (call.simulation !== null) !== claim.simulated ||
      !call.mediaTokenHash ||
      !constantTimeEqual(call.mediaTokenHash, hashToken(claim.mediaToken)) ||
      !call.mediaTokenExpiresAt ||
      call.mediaTokenExpiresAt.getTime() < now.getTime() ||
      isFinalCallStatus(call.status) ||
      // A call a runtime carries already gets new tokens only to resume its stream (resumeCallMedia):
      // such a token must never start a second session.
      call.runtimeId !== null
    ) {
      throw refused();
    }
    if (!call.agentId || call.agentVersion === null) throw refused();
    const [version] = await tx
      .select({ config: agentVersions.config })
      .from(agentVersions)
      .where(and(eq(agentVersions.agentId, call.agentId), eq(agentVersions.version, call.agentVersion)));
    if (!version) throw refused();
    const [claimed] = await tx
      .update(calls)
      .set({
        status: 'in_progress',
        answeredAt: call.answeredAt ?? now,
        runtimeId: claim.runtimeId,
        mediaTokenHash: null,
        mediaTokenExpiresAt: null,
        updatedAt: now,
      })
      .where(eq(calls.id, call.id))
      .returning();
    await enqueueWebhookEvents(
      tx,
      call.organizationId,
      await callStatusEvents(tx, call.status, claimed!, now),
    );
    return { call: claimed!, agentConfig: version.config };
  });
}
