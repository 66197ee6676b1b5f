// Removes a phone number from the organization.
import { eq, phoneNumbers } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { findPhoneNumber } from './phone-number-row.js';

/**
 * Deletes for good: calls to it are no longer routed, and the number is free to be registered again
 * (by any organization). Past calls keep their history; their link to the number is cleared.
 */
export async function deletePhoneNumber(ctx: OrgContext, id: string): Promise<void> {
  authorize(ctx, 'phone_numbers:write');
  await ctx.db.transaction(async (tx) => {
    const { row } = await findPhoneNumber(tx, ctx.organizationId, id, { lock: true });
    await tx.delete(phoneNumbers).where(eq(phoneNumbers.id, row.id));
    await auditInOrganization(tx, ctx, {
      action: 'phone_number.delete',
      targetType: 'phone_number',
      targetId: row.id,
      details: { carrier: row.carrier },
    });
  });
}
