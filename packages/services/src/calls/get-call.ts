// Reads one call of the organization.
import type { Call } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { findCall, toCall } from './call-row.js';

export async function getCall(ctx: OrgContext, id: string): Promise<Call> {
  authorize(ctx, 'calls:read');
  return toCall(await findCall(ctx.db, ctx.organizationId, id));
}
