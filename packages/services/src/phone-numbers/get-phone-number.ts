// Reads one phone number of the organization.
import type { PhoneNumber } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { findPhoneNumber, toPhoneNumber } from './phone-number-row.js';

export async function getPhoneNumber(ctx: OrgContext, id: string): Promise<PhoneNumber> {
  authorize(ctx, 'phone_numbers:read');
  return toPhoneNumber(ctx, await findPhoneNumber(ctx.db, ctx.organizationId, id));
}
