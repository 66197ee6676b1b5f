// Reads one call of the organization, with what only its own page shows (how many leads it captured).
import type { CallDetail } from '@parley/contracts';
import { and, count, eq, leads } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { findCall, toCall } from './call-row.js';

export async function getCall(ctx: OrgContext, id: string): Promise<CallDetail> {
  authorize(ctx, 'calls:read');
  const row = await findCall(ctx.db, ctx.organizationId, id);
  const [captured] = await ctx.db
    .select({ n: count() })
    .from(leads)
    .where(and(eq(leads.callId, id), eq(leads.organizationId, ctx.organizationId)));
  return { ...toCall(row), leadsCount: captured?.n ?? 0 };
}
