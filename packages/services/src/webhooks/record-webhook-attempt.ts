import {
  and,
  eq,
  sql,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  type Database,
} from '@parley/db';
import type { WebhookDeliveryRow } from './delivery-row.js';
import {
  disableFailingEndpoint,
  hasFailedForTooLong,
  type DisableThresholds,
} from './disable-failing-endpoint.js';
import { nextAttemptAt } from './retry-schedule.js';
import type { AttemptResult } from './send-webhook.js';

export interface RecordOptions extends DisableThresholds {
  /** False for a test ping: one attempt, and the endpoint's failure count is left alone. */
  retry?: boolean;
  random?: () => number;
}

/**
 * Stores an attempt and what follows from it, in one transaction: the delivery succeeded, waits for its
 * next attempt, or is abandoned; the endpoint's run of failures is reset or extended, and an endpoint
 * that failed for too long is disabled.
 */
export async function recordWebhookAttempt(
  db: Database,
  delivery: WebhookDeliveryRow,
  result: AttemptResult,
  options: RecordOptions = {},
): Promise<void> {
  const retry = options.retry ?? true;
  await db.transaction(async (tx) => {
    const [current] = await tx
      .select({ attempts: webhookDeliveries.attempts })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.id, delivery.id))
      .for('update');
    if (!current) return; // deleted with its endpoint meanwhile
    const attempt = current.attempts + 1;
    await tx.insert(webhookAttempts).values({
      deliveryId: delivery.id,
      attempt,
      at: result.at,
      responseStatus: result.responseStatus,
      latencyMs: result.latencyMs,
      responseExcerpt: result.responseExcerpt,
      errorCode: result.errorCode,
    });
    const next = result.ok || !retry ? null : nextAttemptAt(attempt, result.at, options.random);
    await tx
      .update(webhookDeliveries)
      .set({
        attempts: attempt,
        status: result.ok ? 'succeeded' : next ? 'failed' : 'abandoned',
        nextAttemptAt: next,
        lastStatus: result.responseStatus,
        lastErrorCode: result.errorCode,
        ...(result.ok ? { deliveredAt: result.at } : {}),
      })
      .where(eq(webhookDeliveries.id, delivery.id));
    if (!retry) return;
    if (result.ok) {
      await tx
        .update(webhookEndpoints)
        .set({ consecutiveFailures: 0, firstFailureAt: null })
        .where(eq(webhookEndpoints.id, delivery.endpointId));
      return;
    }
    const [endpoint] = await tx
      .update(webhookEndpoints)
      .set({
        consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1`,
        firstFailureAt: sql`coalesce(${webhookEndpoints.firstFailureAt}, ${result.at.toISOString()}::timestamptz)`,
      })
      .where(and(eq(webhookEndpoints.id, delivery.endpointId), eq(webhookEndpoints.enabled, true)))
      .returning();
    if (endpoint && hasFailedForTooLong(endpoint, result.at, options)) {
      await disableFailingEndpoint(tx, endpoint, result.at);
    }
  });
}
