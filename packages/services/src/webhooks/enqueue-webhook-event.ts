import type { WebhookDeliveryEventType } from '@parley/contracts';
import { and, eq, uuidv7, webhookDeliveries, webhookEndpoints, type Executor } from '@parley/db';

export interface WebhookEventInput {
  organizationId: string;
  type: WebhookDeliveryEventType;
  data: Record<string, unknown>;
  occurredAt: Date;
}

/** The body every delivery of an event carries (the same bytes on every attempt, apart from links). */
export function webhookPayload(
  eventId: string,
  type: string,
  occurredAt: Date,
  data: Record<string, unknown>,
) {
  return { id: eventId, type, createdAt: occurredAt.toISOString(), data };
}

/**
 * Queues events for the organization's enabled endpoints that subscribe to them (an endpoint with no
 * event types receives all): one delivery row per endpoint and event, due at once. Call it inside the
 * transaction that makes the change the event reports, so the two are committed, or lost, together.
 * Returns the ids of the deliveries created.
 */
export async function enqueueWebhookEvents(
  db: Executor,
  organizationId: string,
  events: readonly Omit<WebhookEventInput, 'organizationId'>[],
): Promise<string[]> {
  if (events.length === 0) return [];
  const endpoints = await db
    .select({ id: webhookEndpoints.id, eventTypes: webhookEndpoints.eventTypes })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.organizationId, organizationId), eq(webhookEndpoints.enabled, true)));
  if (endpoints.length === 0) return [];
  const rows: (typeof webhookDeliveries.$inferInsert)[] = [];
  for (const event of events) {
    const eventId = uuidv7(event.occurredAt.getTime());
    const payload = webhookPayload(eventId, event.type, event.occurredAt, event.data);
    for (const endpoint of endpoints) {
      if (endpoint.eventTypes.length > 0 && !endpoint.eventTypes.includes(event.type)) continue;
      rows.push({
        endpointId: endpoint.id,
        organizationId,
        eventId,
        eventType: event.type,
        payload,
        status: 'pending',
        nextAttemptAt: event.occurredAt,
      });
    }
  }
  if (rows.length === 0) return [];
  const inserted = await db.insert(webhookDeliveries).values(rows).returning({ id: webhookDeliveries.id });
  return inserted.map((row) => row.id);
}

/** One event; see enqueueWebhookEvents. */
export function enqueueWebhookEvent(db: Executor, event: WebhookEventInput): Promise<string[]> {
  const { organizationId, ...rest } = event;
  return enqueueWebhookEvents(db, organizationId, [rest]);
}
