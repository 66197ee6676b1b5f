import type { WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus } from '@parley/contracts';
import { and, asc, eq, inArray, webhookAttempts, webhookDeliveries, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso, isoOrNull } from '../pagination.js';

export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
type AttemptRow = typeof webhookAttempts.$inferSelect;

function toAttempt(row: AttemptRow): WebhookAttempt {
  return {
    attempt: row.attempt,
    at: iso(row.at),
    responseStatus: row.responseStatus,
    latencyMs: row.latencyMs,
    responseExcerpt: row.responseExcerpt,
    errorCode: row.errorCode,
  };
}

export function toWebhookDelivery(row: WebhookDeliveryRow, attempts: AttemptRow[]): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status as WebhookDeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: isoOrNull(row.nextAttemptAt),
    lastStatus: row.lastStatus,
    lastErrorCode: row.lastErrorCode,
    replayOf: row.replayOf,
    payload: row.payload,
    attemptLog: attempts.map(toAttempt),
    createdAt: iso(row.createdAt),
    deliveredAt: isoOrNull(row.deliveredAt),
  };
}

/** Deliveries with their attempts, in order, read in one query. */
export async function withAttempts(db: Executor, rows: WebhookDeliveryRow[]): Promise<WebhookDelivery[]> {
  if (rows.length === 0) return [];
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(
      inArray(
        webhookAttempts.deliveryId,
        rows.map((row) => row.id),
      ),
    )
    .orderBy(asc(webhookAttempts.deliveryId), asc(webhookAttempts.attempt));
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const attempt of attempts) {
    const list = byDelivery.get(attempt.deliveryId) ?? [];
    list.push(attempt);
    byDelivery.set(attempt.deliveryId, list);
  }
  return rows.map((row) => toWebhookDelivery(row, byDelivery.get(row.id) ?? []));
}

/** A delivery of this organization; another organization's is "not found". */
export async function findWebhookDelivery(
  db: Executor,
  organizationId: string,
  id: string,
): Promise<WebhookDeliveryRow> {
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.organizationId, organizationId)));
  if (!row) throw new ServiceError('webhook_delivery_not_found', 'Webhook delivery not found');
  return row;
}
