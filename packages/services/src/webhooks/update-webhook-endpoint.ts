import type { UpdateWebhookEndpointBody, WebhookEndpoint } from '@parley/contracts';
import { eq, webhookEndpoints } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { findWebhookEndpoint, toWebhookEndpoint } from './endpoint-row.js';

/** Edits an endpoint; enabling it again starts its failure count afresh. */
export async function updateWebhookEndpoint(
  ctx: OrgContext,
  id: string,
  input: UpdateWebhookEndpointBody,
): Promise<WebhookEndpoint> {
  authorize(ctx, 'webhooks:write');
  return ctx.db.transaction(async (tx) => {
    const current = await findWebhookEndpoint(tx, ctx.organizationId, id, { lock: true });
    const reEnabled = input.enabled === true && !current.enabled;
    const [row] = await tx
      .update(webhookEndpoints)
      .set({
        ...(input.url === undefined ? {} : { url: input.url }),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.eventTypes === undefined ? {} : { eventTypes: [...new Set(input.eventTypes)] }),
        ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
        ...(reEnabled ? { disabledReason: null, consecutiveFailures: 0, firstFailureAt: null } : {}),
        updatedAt: nowOf(ctx),
      })
      .where(eq(webhookEndpoints.id, current.id))
      .returning();
    await auditInOrganization(tx, ctx, {
      action: 'webhook_endpoint.update',
      targetType: 'webhook_endpoint',
      targetId: current.id,
      details: { fields: Object.keys(input) },
    });
    return toWebhookEndpoint(row!);
  });
}
