// Right to erasure: deletes a call with everything said and recorded on it (its events, transcript,
// leads, the webhook deliveries about it and its recording file). A call not yet answered is canceled at the carrier first; a call in
// progress is refused, so nothing is erased while the runtime is still writing it. The audit row keeps
// only what the call was, never its numbers, variables or words.
import { and, calls, eq, sql, webhookDeliveries } from '@parley/db';
import { unlink } from 'node:fs/promises';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { cancelCall } from './cancel-call.js';
import { findCall, type CallRow } from './call-row.js';

const UNANSWERED = ['queued', 'ringing'];

function assertNotLive(row: CallRow): void {
  if (row.status === 'in_progress')
    throw new ServiceError('call_in_progress', 'The call is in progress; hang it up before deleting it', {
      status: row.status,
    });
}

async function removeRecording(path: string | null): Promise<void> {
  if (!path) return;
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export async function eraseCall(ctx: OrgContext, id: string): Promise<void> {
  authorize(ctx, 'calls:write');
  const before = await findCall(ctx.db, ctx.organizationId, id);
  assertNotLive(before);
  // The carrier must stop ringing the callee before the record of the call disappears.
  if (UNANSWERED.includes(before.status)) await cancelCall(ctx, id);
  await ctx.db.transaction(async (tx) => {
    const row = await findCall(tx, ctx.organizationId, id, { lock: true });
    assertNotLive(row); // answered meanwhile
    // Events, transcript turns and leads go with the row (foreign keys cascade). Webhook deliveries
    // about the call carry its transcript and numbers in their payloads: they go too, sent or not.
    await tx.delete(calls).where(and(eq(calls.id, id), eq(calls.organizationId, ctx.organizationId)));
    await tx
      .delete(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.organizationId, ctx.organizationId),
          sql`${webhookDeliveries.payload}->'data'->>'callId' = ${id}`,
        ),
      );
    await auditInOrganization(tx, ctx, {
      action: 'call.erase',
      targetType: 'call',
      targetId: id,
      details: {
        direction: row.direction,
        transport: row.transport,
        status: row.status,
        hadRecording: row.recordingPath !== null,
      },
    });
    // Inside the transaction: if the file cannot be removed, the call stays, and the erasure can be
    // retried; a failed commit after this leaves a call whose recording answers "not found".
    await removeRecording(row.recordingPath);
  });
}
