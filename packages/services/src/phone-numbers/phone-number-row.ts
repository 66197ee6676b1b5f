// Reading phone-number rows of one organization and turning them into what the API answers.
import type { Carrier, PhoneNumber } from '@parley/contracts';
import { agents, and, eq, isNull, phoneNumbers, type Executor } from '@parley/db';
import type { ServiceDeps } from '../context.js';
import { storedAssistantRequest } from '../assistant-request/ask-assistant-request.js';
import { ServiceError } from '../errors.js';
import { iso } from '../pagination.js';
import { carrierWebhooks } from './carrier-webhooks.js';

export type PhoneNumberRow = typeof phoneNumbers.$inferSelect;

/** A row with its inbound agent as callers meet it: null when there is none or it was deleted. */
export interface PhoneNumberWithAgent {
  row: PhoneNumberRow;
  inboundAgentId: string | null;
}

export function toPhoneNumber(deps: ServiceDeps, { row, inboundAgentId }: PhoneNumberWithAgent): PhoneNumber {
  const carrier = row.carrier as Carrier;
  return {
    id: row.id,
    carrier,
    number: row.number,
    name: row.name,
    credentialId: row.credentialId,
    inboundAgentId,
    assistantRequest: storedAssistantRequest(row.assistantRequest),
    webhooks: carrierWebhooks(deps.publicUrl, carrier),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/**
 * Phone numbers joined to their inbound agent. Agents are deleted softly, so the foreign key keeps
 * pointing at a deleted one; the join hides it, as every other route does.
 */
export function selectPhoneNumbers(db: Executor, where: ReturnType<typeof and>) {
  return db
    .select({ row: phoneNumbers, inboundAgentId: agents.id })
    .from(phoneNumbers)
    .leftJoin(agents, and(eq(agents.id, phoneNumbers.inboundAgentId), isNull(agents.deletedAt)))
    .where(where);
}

/**
 * A phone number of this organization (its row locked for the transaction when `lock`). Another
 * organization's number is "not found", exactly like a missing one.
 */
export async function findPhoneNumber(
  db: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<PhoneNumberWithAgent> {
  const query = selectPhoneNumbers(
    db,
    and(eq(phoneNumbers.id, id), eq(phoneNumbers.organizationId, organizationId)),
  );
  const [found] = options.lock ? await query.for('update', { of: phoneNumbers }) : await query;
  if (!found) throw new ServiceError('phone_number_not_found', 'Phone number not found');
  return found;
}
