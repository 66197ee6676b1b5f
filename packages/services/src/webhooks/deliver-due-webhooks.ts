import { and, asc, eq, inArray, lte, webhookDeliveries, webhookEndpoints, type Database } from '@parley/db';
import type { SecretBox } from '../secret-box.js';
import type { WebhookDeliveryRow } from './delivery-row.js';
import type { DisableThresholds } from './disable-failing-endpoint.js';
import { openWebhookSecret, type WebhookEndpointRow } from './endpoint-row.js';
import { recordWebhookAttempt } from './record-webhook-attempt.js';
import { withRecordingLink, type RecordingLinks } from './recording-links.js';
import { sendWebhook, WEBHOOK_TIMEOUT_MS, type WebhookTransport } from './send-webhook.js';

export const DEFAULT_WEBHOOK_BATCH_SIZE = 20;

export interface WebhookDeliveryOptions extends WebhookTransport, DisableThresholds {
  now?: () => Date;
  /** Deliveries claimed (and sent concurrently) per call. */
  batchSize?: number;
  /** Links to recordings in end-of-call reports; without it they carry no URL. */
  recordingLinks?: RecordingLinks;
  /** Jitter of the retry delays; Math.random unless a test pins it. */
  random?: () => number;
  /** A delivery that could not be recorded (the database went away); for the log. */
  onError?: (error: unknown, deliveryId: string) => void;
}

export interface DeliveryBatch {
  attempted: number;
  succeeded: number;
}

type Claimed = { delivery: WebhookDeliveryRow; endpoint: WebhookEndpointRow };

/**
 * Claims the deliveries that are due and pushes their next attempt past the send's timeout, so another
 * worker (or this one, next tick) leaves them alone; if this process dies mid-send, they come due again
 * and are retried. `skip locked` lets several workers share the queue without waiting on each other.
 */
async function claimDue(db: Database, now: Date, limit: number, leaseMs: number): Promise<Claimed[]> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(
        and(
          inArray(webhookDeliveries.status, ['pending', 'failed']),
          lte(webhookDeliveries.nextAttemptAt, now),
          eq(webhookEndpoints.enabled, true),
        ),
      )
      .orderBy(asc(webhookDeliveries.nextAttemptAt))
      .limit(limit)
      .for('update', { of: webhookDeliveries, skipLocked: true });
    if (rows.length === 0) return [];
    await tx
      .update(webhookDeliveries)
      .set({ nextAttemptAt: new Date(now.getTime() + leaseMs) })
      .where(
        inArray(
          webhookDeliveries.id,
          rows.map((row) => row.delivery.id),
        ),
      );
    return rows;
  });
}

/** Sends one claimed delivery and records the attempt. */
export async function attemptDelivery(
  db: Database,
  secretBox: SecretBox,
  { delivery, endpoint }: Claimed,
  options: WebhookDeliveryOptions & { retry?: boolean },
): Promise<boolean> {
  const now = options.now?.() ?? new Date();
  const payload = withRecordingLink(delivery.payload, options.recordingLinks, now);
  const result = await sendWebhook(
    { url: endpoint.url, secret: openWebhookSecret(secretBox, endpoint) },
    { id: delivery.eventId, type: delivery.eventType, body: JSON.stringify(payload) },
    options,
    now,
  );
  await recordWebhookAttempt(db, delivery, result, options);
  return result.ok;
}

/**
 * One pass of the delivery worker: sends every due delivery (up to `batchSize`) and records each
 * attempt. The server calls it every second; tests call it with a pinned clock.
 */
export async function deliverDueWebhooks(
  db: Database,
  secretBox: SecretBox,
  options: WebhookDeliveryOptions = {},
): Promise<DeliveryBatch> {
  const now = options.now?.() ?? new Date();
  const leaseMs = (options.timeoutMs ?? WEBHOOK_TIMEOUT_MS) + 60_000;
  const claimed = await claimDue(db, now, options.batchSize ?? DEFAULT_WEBHOOK_BATCH_SIZE, leaseMs);
  const outcomes = await Promise.all(
    claimed.map((item) =>
      attemptDelivery(db, secretBox, item, options).catch((error: unknown) => {
        options.onError?.(error, item.delivery.id);
        return false;
      }),
    ),
  );
  return { attempted: claimed.length, succeeded: outcomes.filter(Boolean).length };
}
