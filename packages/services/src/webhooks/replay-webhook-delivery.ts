import type { WebhookDelivery } from '@parley/contracts';
import { webhookDeliveries } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { findWebhookDelivery, toWebhookDelivery } from './delivery-row.js';
import { findWebhookEndpoint } from './endpoint-row.js';

/**
 * Sends an event again: a new delivery of the same event (same id, type and data) to the same
 * endpoint, due at once; the original keeps its attempt history.
 */
export async function replayWebhookDelivery(ctx: OrgContext, deliveryId: string): Promise<WebhookDelivery> {
  authorize(ctx, 'webhooks:write');
  return ctx.db.transaction(async (tx) => {
    const original = await findWebhookDelivery(tx, ctx.organizationId, deliveryId);
    const endpoint = await findWebhookEndpoint(tx, ctx.organizationId, original.endpointId);
    if (!endpoint.enabled) {
      throw new ServiceError(
        'conflict',
        'The endpoint is disabled: enable it before replaying its deliveries',
      );
    }
    const [row] = await tx
      .insert(webhookDeliveries)
      .values({
        endpointId: original.endpointId,
        organizationId: ctx.organizationId,
        eventId: original.eventId,
        eventType: original.eventType,
        payload: original.payload,
        status: 'pending',
        nextAttemptAt: nowOf(ctx),
        replayOf: original.id,
      })
      .returning();
    await auditInOrganization(tx, ctx, {
      action: 'webhook_delivery.replay',
      targetType: 'webhook_delivery',
      targetId: row!.id,
      details: { replayOf: original.id, eventType: original.eventType },
    });
    return toWebhookDelivery(row!, []);
  });
}
