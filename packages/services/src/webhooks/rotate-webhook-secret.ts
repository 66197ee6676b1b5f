import type { WebhookEndpointWithSecret } from '@parley/contracts';
import { eq, webhookEndpoints } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { findWebhookEndpoint, newWebhookSecret, toWebhookEndpoint } from './endpoint-row.js';

/**
 * Replaces an endpoint's signing secret; the new one is returned here, once. Deliveries sent from now
 * on (retries included) are signed with it.
 */
export async function rotateWebhookSecret(ctx: OrgContext, id: string): Promise<WebhookEndpointWithSecret> {
  authorize(ctx, 'webhooks:write');
  const { secret, sealed } = newWebhookSecret(ctx.secretBox);
  return ctx.db.transaction(async (tx) => {
    const current = await findWebhookEndpoint(tx, ctx.organizationId, id, { lock: true });
    const [row] = await tx
      .update(webhookEndpoints)
      .set({ ...sealed, updatedAt: nowOf(ctx) })
      .where(eq(webhookEndpoints.id, current.id))
      .returning();
    await auditInOrganization(tx, ctx, {
      action: 'webhook_endpoint.rotate_secret',
      targetType: 'webhook_endpoint',
      targetId: current.id,
    });
    return { ...toWebhookEndpoint(row!), secret };
  });
}
