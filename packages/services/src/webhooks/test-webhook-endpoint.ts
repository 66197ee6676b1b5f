import type { WebhookDelivery } from '@parley/contracts';
import { uuidv7, webhookDeliveries } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { attemptDelivery } from './deliver-due-webhooks.js';
import { findWebhookDelivery, withAttempts } from './delivery-row.js';
import { findWebhookEndpoint } from './endpoint-row.js';
import { webhookPayload } from './enqueue-webhook-event.js';
import type { WebhookTransport } from './send-webhook.js';

/**
 * Sends a `ping` event to an endpoint now and answers with the attempt (status, latency, the start of
 * the response). A ping is tried once, is never retried and does not count toward disabling.
 */
export async function testWebhookEndpoint(
  ctx: OrgContext,
  endpointId: string,
  transport: WebhookTransport,
): Promise<WebhookDelivery> {
  authorize(ctx, 'webhooks:write');
  const endpoint = await findWebhookEndpoint(ctx.db, ctx.organizationId, endpointId);
  const now = nowOf(ctx);
  const eventId = uuidv7(now.getTime());
  const delivery = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhookDeliveries)
      .values({
        endpointId: endpoint.id,
        organizationId: ctx.organizationId,
        eventId,
        eventType: 'ping',
        payload: webhookPayload(eventId, 'ping', now, { endpointId: endpoint.id }),
        status: 'pending',
        // Not due: the worker never picks it up.
        nextAttemptAt: null,
      })
      .returning();
    await auditInOrganization(tx, ctx, {
      action: 'webhook_endpoint.test',
      targetType: 'webhook_endpoint',
      targetId: endpoint.id,
    });
    return row!;
  });
  await attemptDelivery(
    ctx.db,
    ctx.secretBox,
    { delivery, endpoint },
    { ...transport, now: () => nowOf(ctx), retry: false },
  );
  const sent = await findWebhookDelivery(ctx.db, ctx.organizationId, delivery.id);
  const [withLog] = await withAttempts(ctx.db, [sent]);
  return withLog!;
}
