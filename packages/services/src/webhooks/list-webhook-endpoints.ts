import type { Page, WebhookEndpoint, WebhookEndpointsQuery } from '@parley/contracts';
import { and, desc, eq, lt, webhookEndpoints } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { toPage } from '../pagination.js';
import { toWebhookEndpoint } from './endpoint-row.js';

export async function listWebhookEndpoints(
  ctx: OrgContext,
  query: WebhookEndpointsQuery,
): Promise<Page<WebhookEndpoint>> {
  authorize(ctx, 'webhooks:read');
  const rows = await ctx.db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.organizationId, ctx.organizationId),
        query.cursor ? lt(webhookEndpoints.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(webhookEndpoints.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toWebhookEndpoint);
}
