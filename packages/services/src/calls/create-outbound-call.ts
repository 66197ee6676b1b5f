// Places an outbound call: checks what it names and the organization's limits, records the call
// (queued) and hands it to the dialer. The dial happens after the record is committed, so a status
// callback or a cancel can always find the call, and a slow carrier holds no database lock.
import type { Call, CreateCallBody } from '@parley/contracts';
import { and, calls, eq } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { DEFAULT_CALL_LIMITS } from './call-dialer.js';
import { toCall, type CallRow } from './call-row.js';
import { checkCallLimits, lockOrganizationForCalls } from './check-call-limits.js';
import { hangUpAtCarrier } from './hang-up-at-carrier.js';
import { resolveOutboundCall, type OutboundCallPlan } from './resolve-outbound-call.js';

/** Carriers' error texts can be long; the record keeps enough to tell what went wrong. */
const MAX_CARRIER_REASON = 1000;

export async function createOutboundCall(ctx: OrgContext, body: CreateCallBody): Promise<Call> {
  authorize(ctx, 'calls:write');
  const now = nowOf(ctx);
  const { row, plan } = await ctx.db.transaction(async (tx) => {
    const plan = await resolveOutboundCall(tx, ctx.organizationId, body);
    await lockOrganizationForCalls(tx, ctx.organizationId);
    await checkCallLimits(tx, ctx.organizationId, ctx.callLimits ?? DEFAULT_CALL_LIMITS, now);
    const [row] = await tx
      .insert(calls)
      .values({
        organizationId: ctx.organizationId,
        agentId: plan.agentId,
        agentVersion: plan.agentVersion,
        direction: 'outbound',
        transport: plan.carrier,
        phoneNumberId: plan.phoneNumberId,
        fromNumber: body.from,
        toNumber: body.to,
        status: 'queued',
        // The column is typed for the runtime's rendered strings; the caller's numbers and booleans
        // are kept as given and rendered when the call starts.
        variables: (body.variables ?? {}) as Record<string, string>,
        metadata: body.metadata ?? {},
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'call.create',
      targetType: 'call',
      targetId: row.id,
      // No numbers and no variables: the audit log keeps no phone numbers or personal data.
      details: { agentId: plan.agentId, agentVersion: plan.agentVersion, carrier: plan.carrier },
    });
    return { row, plan };
  });
  return dial(ctx, row, plan);
}

/** Ends a call that never reached the carrier, unless a cancel ended it first. */
async function markFailed(
  ctx: OrgContext,
  callId: string,
  endReason: string,
  carrierReason: string | null,
): Promise<void> {
  const now = nowOf(ctx);
  await ctx.db
    .update(calls)
    .set({ status: 'failed', endReason, carrierReason, endedAt: now, updatedAt: now })
    .where(and(eq(calls.id, callId), eq(calls.status, 'queued')));
}

async function dial(ctx: OrgContext, row: CallRow, plan: OutboundCallPlan): Promise<Call> {
  const dialer = ctx.dialer;
  if (!dialer) {
    await markFailed(ctx, row.id, 'telephony_unavailable', null);
    throw new ServiceError(
      'telephony_unavailable',
      'This server cannot place calls: no telephony is configured',
      { callId: row.id },
    );
  }
  let carrierCallId: string;
  try {
    ({ carrierCallId } = await dialer.dial({
      callId: row.id,
      organizationId: row.organizationId,
      carrier: plan.carrier,
      phoneNumberId: plan.phoneNumberId,
      credentialId: plan.credentialId,
      from: row.fromNumber ?? '',
      to: row.toNumber ?? '',
      machineDetection: plan.machineDetection,
    }));
  } catch (error) {
    // The dialer's own refusal before any carrier was asked (no runtime can carry the call): its code
    // is the call's end reason and the answer.
    if (error instanceof ServiceError) {
      await markFailed(ctx, row.id, error.code, null);
      throw error;
    }
    const reason = error instanceof Error ? error.message : String(error);
    await markFailed(ctx, row.id, 'dial_failed', reason.slice(0, MAX_CARRIER_REASON) || 'dial failed');
    // The carrier's words go to the record, not here: they may quote the numbers.
    throw new ServiceError(
      'dial_failed',
      'The carrier did not place the call; the call’s carrierReason says why',
      { callId: row.id },
    );
  }
  // The status stays queued: the carrier's callbacks say when it rings.
  const [dialed] = await ctx.db
    .update(calls)
    .set({ carrierCallId, updatedAt: nowOf(ctx) })
    .where(eq(calls.id, row.id))
    .returning();
  if (!dialed) throw new Error('the dialed call disappeared');
  if (dialed.status === 'canceled') {
    // Canceled while the carrier was being asked: the cancel could not hang up what it did not know.
    await hangUpAtCarrier(ctx, { ...dialed, carrierCallId });
  }
  return toCall(dialed);
}
