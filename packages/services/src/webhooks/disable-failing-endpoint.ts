import { and, auditLog, eq, inArray, webhookDeliveries, webhookEndpoints, type Executor } from '@parley/db';
import { enqueueWebhookEvent } from './enqueue-webhook-event.js';
import type { WebhookEndpointRow } from './endpoint-row.js';

/** An endpoint is disabled once its attempts have failed without a success for this long… */
export const DISABLE_AFTER_FAILING_MS = 22 * 3_600_000;
/** …and at least this many times (a quiet endpoint is not judged on two attempts a day apart). */
export const DISABLE_AFTER_FAILED_ATTEMPTS = 10;

export interface DisableThresholds {
  disableAfterFailingMs?: number;
  disableAfterFailedAttempts?: number;
}

export function hasFailedForTooLong(
  endpoint: Pick<WebhookEndpointRow, 'consecutiveFailures' | 'firstFailureAt'>,
  now: Date,
  thresholds: DisableThresholds = {},
): boolean {
  const failingMs = endpoint.firstFailureAt ? now.getTime() - endpoint.firstFailureAt.getTime() : 0;
  return (
    endpoint.consecutiveFailures >=
      (thresholds.disableAfterFailedAttempts ?? DISABLE_AFTER_FAILED_ATTEMPTS) &&
    failingMs >= (thresholds.disableAfterFailingMs ?? DISABLE_AFTER_FAILING_MS)
  );
}

/**
 * Stops sending to an endpoint that kept failing: it is disabled with the reason, its queued deliveries
 * are abandoned (they can be replayed once it is enabled again), the organization's other endpoints get
 * a `webhook_endpoint.disabled` event, and the audit log says so. Runs in the caller's transaction.
 */
export async function disableFailingEndpoint(
  tx: Executor,
  endpoint: WebhookEndpointRow,
  now: Date,
): Promise<void> {
  const hours = endpoint.firstFailureAt
    ? Math.round((now.getTime() - endpoint.firstFailureAt.getTime()) / 3_600_000)
    : 0;
  const reason = `${endpoint.consecutiveFailures} consecutive failed attempts over ${hours} h`;
  await tx
    .update(webhookEndpoints)
    .set({ enabled: false, disabledReason: reason, updatedAt: now })
    .where(eq(webhookEndpoints.id, endpoint.id));
  await tx
    .update(webhookDeliveries)
    .set({ status: 'abandoned', nextAttemptAt: null, lastErrorCode: 'endpoint_disabled' })
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpoint.id),
        inArray(webhookDeliveries.status, ['pending', 'failed']),
      ),
    );
  await enqueueWebhookEvent(tx, {
    organizationId: endpoint.organizationId,
    type: 'webhook_endpoint.disabled',
    occurredAt: now,
    data: {
      endpointId: endpoint.id,
      url: endpoint.url,
      reason,
      consecutiveFailures: endpoint.consecutiveFailures,
      firstFailureAt: endpoint.firstFailureAt?.toISOString() ?? null,
    },
  });
  await tx.insert(auditLog).values({
    organizationId: endpoint.organizationId,
    actorType: 'system',
    actorId: null,
    actorLabel: 'webhook delivery',
    action: 'webhook_endpoint.disable',
    targetType: 'webhook_endpoint',
    targetId: endpoint.id,
    details: { reason, host: new URL(endpoint.url).host },
    clientIp: null,
  });
}
