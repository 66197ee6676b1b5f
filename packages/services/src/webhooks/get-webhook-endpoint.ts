import type { WebhookEndpoint } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { findWebhookEndpoint, toWebhookEndpoint } from './endpoint-row.js';

export async function getWebhookEndpoint(ctx: OrgContext, id: string): Promise<WebhookEndpoint> {
  authorize(ctx, 'webhooks:read');
  return toWebhookEndpoint(await findWebhookEndpoint(ctx.db, ctx.organizationId, id));
}
