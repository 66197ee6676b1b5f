// Cancels an outbound call before it is answered: a call the carrier does not have yet is canceled at
// once; one it has (ringing, or queued at the carrier) is hung up there first, then recorded canceled.
import type { Call } from '@parley/contracts';
import { and, calls, eq, inArray, type Executor } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { findCall, toCall, type CallRow } from './call-row.js';
import { hangUpAtCarrier } from './hang-up-at-carrier.js';
import { callStatusEvents } from '../webhooks/call-status-events.js';
import { enqueueWebhookEvents } from '../webhooks/enqueue-webhook-event.js';

const CANCELABLE = ['queued', 'ringing'];

function assertCancelable(row: CallRow): void {
  if (!CANCELABLE.includes(row.status)) {
    throw new ServiceError(
      'call_not_cancelable',
      `The call is ${row.status}; only a queued or ringing call can be canceled`,
      { status: row.status },
    );
  }
}

/** Records the cancel, unless the call moved on meanwhile (answered, or ended by the carrier). */
async function recordCanceled(tx: Executor, ctx: OrgContext, row: CallRow): Promise<CallRow> {
  const now = nowOf(ctx);
  const [canceled] = await tx
    .update(calls)
    .set({ status: 'canceled', endReason: 'canceled_by_api', endedAt: now, updatedAt: now })
    .where(and(eq(calls.id, row.id), inArray(calls.status, CANCELABLE)))
    .returning();
  if (canceled) {
    await enqueueWebhookEvents(tx, row.organizationId, await callStatusEvents(tx, row.status, canceled, now));
  }
  await auditInOrganization(tx, ctx, { action: 'call.cancel', targetType: 'call', targetId: row.id });
  return canceled ?? row;
}

export async function cancelCall(ctx: OrgContext, id: string): Promise<Call> {
  authorize(ctx, 'calls:write');
  const first = await ctx.db.transaction(async (tx) => {
    const row = await findCall(tx, ctx.organizationId, id, { lock: true });
    assertCancelable(row);
    // Not at the carrier yet: if the dial is still under way, it hangs up once it learns the id.
    if (!row.carrierCallId) return { done: await recordCanceled(tx, ctx, row) };
    return { atCarrier: { ...row, carrierCallId: row.carrierCallId } };
  });
  if (first.done) return toCall(first.done);
  // Outside any transaction: a carrier's HTTP round trip must not hold the call's row lock, which its
  // own status callbacks need.
  await hangUpAtCarrier(ctx, first.atCarrier);
  return ctx.db.transaction(async (tx) => {
    const row = await findCall(tx, ctx.organizationId, id, { lock: true });
    return toCall(await recordCanceled(tx, ctx, row));
  });
}
