import type { CreateWebhookEndpointBody, WebhookEndpointWithSecret } from '@parley/contracts';
import { webhookEndpoints } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { newWebhookSecret, toWebhookEndpoint } from './endpoint-row.js';

/** Registers an endpoint with a fresh signing secret, returned here and never again. */
export async function createWebhookEndpoint(
  ctx: OrgContext,
  input: CreateWebhookEndpointBody,
): Promise<WebhookEndpointWithSecret> {
  authorize(ctx, 'webhooks:write');
  const { secret, sealed } = newWebhookSecret(ctx.secretBox);
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhookEndpoints)
      .values({
        organizationId: ctx.organizationId,
        url: input.url,
        description: input.description,
        eventTypes: [...new Set(input.eventTypes)],
        ...sealed,
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'webhook_endpoint.create',
      targetType: 'webhook_endpoint',
      targetId: row.id,
      details: { host: new URL(row.url).host, eventTypes: row.eventTypes },
    });
    return { ...toWebhookEndpoint(row), secret };
  });
}
