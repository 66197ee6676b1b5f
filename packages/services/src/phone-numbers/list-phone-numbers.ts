// Lists the organization's phone numbers, newest first, optionally by carrier or inbound agent.
import type { Page, PhoneNumber, PhoneNumbersQuery } from '@parley/contracts';
import { agents, and, desc, eq, lt, phoneNumbers } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { selectPhoneNumbers, toPhoneNumber } from './phone-number-row.js';

export async function listPhoneNumbers(
  ctx: OrgContext,
  query: PhoneNumbersQuery,
): Promise<Page<PhoneNumber>> {
  authorize(ctx, 'phone_numbers:read');
  const rows = await selectPhoneNumbers(
    ctx.db,
    and(
      eq(phoneNumbers.organizationId, ctx.organizationId),
      query.carrier ? eq(phoneNumbers.carrier, query.carrier) : undefined,
      // The joined agent, so a deleted agent answers no numbers, as it answers no calls.
      query.inboundAgentId ? eq(agents.id, query.inboundAgentId) : undefined,
      query.cursor ? lt(phoneNumbers.id, query.cursor) : undefined,
    ),
  )
    .orderBy(desc(phoneNumbers.id))
    .limit(query.limit + 1);
  return toPage(
    rows.map((found) => ({ id: found.row.id, found })),
    query.limit,
    ({ found }) => toPhoneNumber(ctx, found),
  );
}
