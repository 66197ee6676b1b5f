// Renames a phone number, re-points its credential or inbound agent, and sets or removes its hook.
import type { Carrier, PhoneNumber, UpdatePhoneNumberBody } from '@parley/contracts';
import { eq, phoneNumbers } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { storedAssistantRequest } from '../assistant-request/ask-assistant-request.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { findPhoneNumber, toPhoneNumber } from './phone-number-row.js';
import { checkPhoneNumberReferences } from './validate-references.js';

/**
 * The carrier and the number are fixed; the name, credential and inbound agent change, `null`
 * detaching the latter two. An edit that changes nothing writes nothing and leaves no audit row.
 */
export async function updatePhoneNumber(
  ctx: OrgContext,
  id: string,
  input: UpdatePhoneNumberBody,
): Promise<PhoneNumber> {
  authorize(ctx, 'phone_numbers:write');
  return ctx.db.transaction(async (tx) => {
    const existing = await findPhoneNumber(tx, ctx.organizationId, id, { lock: true });
    await checkPhoneNumberReferences(tx, ctx.organizationId, existing.row.carrier as Carrier, input);
    const current = {
      name: existing.row.name,
      credentialId: existing.row.credentialId,
      inboundAgentId: existing.inboundAgentId,
    };
    const changes = Object.fromEntries(
      (['name', 'credentialId', 'inboundAgentId'] as const)
        .filter((field) => input[field] !== undefined && input[field] !== current[field])
        .map((field) => [field, input[field]]),
    ) as Partial<typeof current> & { assistantRequest?: Record<string, unknown> | null };
    // The hook is replaced whole; the same hook again is no change.
    const currentHook = storedAssistantRequest(existing.row.assistantRequest);
    if (
      input.assistantRequest !== undefined &&
      JSON.stringify(input.assistantRequest) !== JSON.stringify(currentHook)
    ) {
      changes.assistantRequest = input.assistantRequest;
    }
    const changed = Object.keys(changes);
    if (changed.length === 0) return toPhoneNumber(ctx, existing);
    const [row] = await tx
      .update(phoneNumbers)
      .set({ ...changes, updatedAt: nowOf(ctx) })
      .where(eq(phoneNumbers.id, existing.row.id))
      .returning();
    if (!row) throw new Error('update returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'phone_number.update',
      targetType: 'phone_number',
      targetId: row.id,
      // Which fields changed and the ids they now name; never the number, nor the hook's URL.
      details: {
        changed,
        ...('credentialId' in changes ? { credentialId: changes.credentialId } : {}),
        ...('inboundAgentId' in changes ? { inboundAgentId: changes.inboundAgentId } : {}),
      },
    });
    // A stale pointer at a deleted agent that this edit did not touch still reads as no agent.
    const inboundAgentId =
      changes.inboundAgentId === undefined ? current.inboundAgentId : changes.inboundAgentId;
    return toPhoneNumber(ctx, { row, inboundAgentId });
  });
}
