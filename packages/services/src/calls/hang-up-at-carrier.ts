// Asks the carrier to end (or stop ringing) a call it has, through the dialer port.
import { phoneNumbers, eq } from '@parley/db';
import type { OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import type { CallRow } from './call-row.js';

/**
 * Throws 503 `telephony_unavailable` without a dialer, and 502 `hang_up_failed` when the carrier cannot
 * be asked (the number or its credential was removed) or refuses.
 */
export async function hangUpAtCarrier(
  ctx: OrgContext,
  call: CallRow & { carrierCallId: string },
): Promise<void> {
  const dialer = ctx.dialer;
  if (!dialer) {
    throw new ServiceError(
      'telephony_unavailable',
      'This server cannot control calls: no telephony is configured',
      {
        callId: call.id,
      },
    );
  }
  const [number] = call.phoneNumberId
    ? await ctx.db
        .select({ credentialId: phoneNumbers.credentialId })
        .from(phoneNumbers)
        .where(eq(phoneNumbers.id, call.phoneNumberId))
    : [];
  if (!call.phoneNumberId || !number?.credentialId) {
    throw new ServiceError(
      'hang_up_failed',
      'The call’s number or its credential was removed, so the carrier cannot be asked to hang up',
      { callId: call.id },
    );
  }
  try {
    await dialer.hangUp({
      callId: call.id,
      organizationId: call.organizationId,
      carrier: call.transport,
      phoneNumberId: call.phoneNumberId,
      credentialId: number.credentialId,
      carrierCallId: call.carrierCallId,
    });
  } catch {
    throw new ServiceError('hang_up_failed', 'The carrier did not hang up the call; it is unchanged', {
      callId: call.id,
    });
  }
}
