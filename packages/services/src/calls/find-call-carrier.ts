// Before a carrier's request about a call is believed, its signature must be checked with the
// credential of the number the call is on. This finds that credential from what the request names:
// our call id (media sockets) or the carrier's call id (status callbacks).
import { and, calls, eq, phoneNumbers, type Database } from '@parley/db';

export interface CallCarrier {
  callId: string;
  organizationId: string;
  carrier: string;
  /** The credential of the call's phone number; null when the number has none (nothing can be verified). */
  credentialId: string | null;
}

export async function findCallCarrier(
  db: Database,
  where: { callId: string } | { carrier: string; carrierCallId: string },
): Promise<CallCarrier | null> {
  const condition =
    'callId' in where
      ? eq(calls.id, where.callId)
      : and(eq(calls.transport, where.carrier), eq(calls.carrierCallId, where.carrierCallId));
  const [row] = await db
    .select({
      callId: calls.id,
      organizationId: calls.organizationId,
      carrier: calls.transport,
      credentialId: phoneNumbers.credentialId,
    })
    .from(calls)
    .leftJoin(phoneNumbers, eq(phoneNumbers.id, calls.phoneNumberId))
    .where(condition);
  return row ?? null;
}
