// Registers a carrier number in the organization.
import type { CreatePhoneNumberBody, PhoneNumber } from '@parley/contracts';
import { phoneNumbers } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { toPhoneNumber } from './phone-number-row.js';
import { checkPhoneNumberReferences } from './validate-references.js';

/**
 * A number is unique per carrier on the whole instance (an incoming call must route to exactly one
 * agent), so one registered by any organization answers 409 `phone_number_taken` — without saying
 * which organization has it.
 */
export async function createPhoneNumber(ctx: OrgContext, input: CreatePhoneNumberBody): Promise<PhoneNumber> {
  authorize(ctx, 'phone_numbers:write');
  return ctx.db.transaction(async (tx) => {
    await checkPhoneNumberReferences(tx, ctx.organizationId, input.carrier, input);
    // The unique index decides between racing registrations; the loser inserts nothing.
    const [row] = await tx
      .insert(phoneNumbers)
      .values({
        organizationId: ctx.organizationId,
        carrier: input.carrier,
        number: input.number,
        name: input.name ?? input.number,
        credentialId: input.credentialId ?? null,
        inboundAgentId: input.inboundAgentId ?? null,
        assistantRequest: input.assistantRequest ?? null,
      })
      .onConflictDoNothing({ target: [phoneNumbers.carrier, phoneNumbers.number] })
      .returning();
    if (!row) {
      throw new ServiceError(
        'phone_number_taken',
        `This number is already registered for ${input.carrier} on this instance`,
        { field: 'number' },
      );
    }
    await auditInOrganization(tx, ctx, {
      action: 'phone_number.create',
      targetType: 'phone_number',
      targetId: row.id,
      // Not the number, nor the name (which defaults to it): the audit log keeps no phone numbers.
      // Nor the hook's URL, which may hold a key: only whether there is one.
      details: { carrier: row.carrier, ...(row.assistantRequest ? { assistantRequest: true } : {}) },
    });
    return toPhoneNumber(ctx, { row, inboundAgentId: row.inboundAgentId });
  });
}
