import { eq, webhookEndpoints } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { findWebhookEndpoint } from './endpoint-row.js';

/** Deletes an endpoint with its deliveries and their attempts (nothing more is sent to it). */
export async function deleteWebhookEndpoint(ctx: OrgContext, id: string): Promise<void> {
  authorize(ctx, 'webhooks:write');
  await ctx.db.transaction(async (tx) => {
    const row = await findWebhookEndpoint(tx, ctx.organizationId, id, { lock: true });
    await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, row.id));
    await auditInOrganization(tx, ctx, {
      action: 'webhook_endpoint.delete',
      targetType: 'webhook_endpoint',
      targetId: row.id,
      details: { host: new URL(row.url).host },
    });
  });
}
