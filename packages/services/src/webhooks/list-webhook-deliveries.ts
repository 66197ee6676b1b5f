import type { Page, WebhookDeliveriesQuery, WebhookDelivery } from '@parley/contracts';
import { and, desc, eq, lt, webhookDeliveries } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { withAttempts } from './delivery-row.js';
import { findWebhookEndpoint } from './endpoint-row.js';

/** An endpoint's deliveries, newest first, each with every attempt it took. */
export async function listWebhookDeliveries(
  ctx: OrgContext,
  endpointId: string,
  query: WebhookDeliveriesQuery,
): Promise<Page<WebhookDelivery>> {
  authorize(ctx, 'webhooks:read');
  const endpoint = await findWebhookEndpoint(ctx.db, ctx.organizationId, endpointId);
  const rows = await ctx.db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpoint.id),
        eq(webhookDeliveries.organizationId, ctx.organizationId),
        query.status ? eq(webhookDeliveries.status, query.status) : undefined,
        query.cursor ? lt(webhookDeliveries.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(query.limit + 1);
  const hasMore = rows.length > query.limit;
  const page = hasMore ? rows.slice(0, query.limit) : rows;
  return {
    data: await withAttempts(ctx.db, page),
    nextCursor: hasMore ? (page.at(-1)?.id ?? null) : null,
  };
}
