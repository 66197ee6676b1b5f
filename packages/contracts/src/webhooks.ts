// Customer webhooks over the wire: the endpoints an organization registers, the events Parley POSTs
// to them (signed, retried, replayable) and the log of every delivery and attempt.
import { z } from 'zod';
import { Id, PageQuery, Timestamp } from './common.js';

/** The events an endpoint can subscribe to (docs/webhooks.md shows each payload). */
export const WEBHOOK_EVENT_TYPES = [
  'call.status_changed',
  'call.transcript',
  'call.tool_called',
  'call.ended',
  'webhook_endpoint.disabled',
] as const;
export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** `ping` is sent only by `POST /webhook-endpoints/:id/test`, whatever the endpoint subscribes to. */
export type WebhookDeliveryEventType = WebhookEventType | 'ping';

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'abandoned'] as const;
export const WebhookDeliveryStatus = z.enum(WEBHOOK_DELIVERY_STATUSES);
export type WebhookDeliveryStatus = z.infer<typeof WebhookDeliveryStatus>;

const WebhookUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
  .max(2048, 'must be at most 2048 characters');
const Description = z.string().trim().max(500, 'must be at most 500 characters');
const EventTypes = z
  .array(WebhookEventType)
  .max(WEBHOOK_EVENT_TYPES.length)
  .describe('The events to receive; empty (the default) receives all of them.');

export const CreateWebhookEndpointBody = z.strictObject({
  url: WebhookUrl,
  description: Description.default(''),
  eventTypes: EventTypes.default([]),
});
export type CreateWebhookEndpointBody = z.infer<typeof CreateWebhookEndpointBody>;

export const UpdateWebhookEndpointBody = z
  .strictObject({
    url: WebhookUrl.optional(),
    description: Description.optional(),
    eventTypes: EventTypes.optional(),
    enabled: z
      .boolean()
      .optional()
      .describe('Re-enabling a disabled endpoint clears its failure count and its disabled reason.'),
  })
  .refine((body) => Object.keys(body).length > 0, 'must change at least one field');
export type UpdateWebhookEndpointBody = z.infer<typeof UpdateWebhookEndpointBody>;

export const WebhookEndpoint = z
  .object({
    id: Id,
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(WebhookEventType),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().describe('Why Parley disabled it, when it did.'),
    consecutiveFailures: z.number().int().describe('Failed attempts since the last success.'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'WebhookEndpoint' });
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const WebhookEndpointWithSecret = WebhookEndpoint.extend({
  secret: z.string().describe('The signing secret (`whsec_…`). Shown once, here; Parley keeps it encrypted.'),
}).meta({ id: 'WebhookEndpointWithSecret' });
export type WebhookEndpointWithSecret = z.infer<typeof WebhookEndpointWithSecret>;

export const WebhookEndpointsQuery = PageQuery;
export type WebhookEndpointsQuery = z.infer<typeof WebhookEndpointsQuery>;

export const WebhookDeliveriesQuery = PageQuery.extend({
  status: WebhookDeliveryStatus.optional(),
});
export type WebhookDeliveriesQuery = z.infer<typeof WebhookDeliveriesQuery>;

export const WebhookAttempt = z
  .object({
    attempt: z.number().int(),
    at: Timestamp,
    responseStatus: z.number().int().nullable().describe('The HTTP status; null when none came back.'),
    latencyMs: z.number().int(),
    responseExcerpt: z.string().nullable().describe('The first 500 characters of the response body.'),
    errorCode: z
      .string()
      .nullable()
      .describe('Why no 2xx came back: `http_<status>` or the connection failure (`timeout`, ...).'),
  })
  .meta({ id: 'WebhookAttempt' });
export type WebhookAttempt = z.infer<typeof WebhookAttempt>;

export const WebhookDelivery = z
  .object({
    id: Id,
    endpointId: Id,
    eventId: Id.describe('The event id (`Parley-Event-Id`): the same on every attempt and on replays.'),
    eventType: z.string(),
    status: WebhookDeliveryStatus,
    attempts: z.number().int(),
    nextAttemptAt: Timestamp.nullable(),
    lastStatus: z.number().int().nullable(),
    lastErrorCode: z.string().nullable(),
    replayOf: Id.nullable().describe('The delivery this one replays.'),
    payload: z
      .record(z.string(), z.unknown())
      .describe('The event as sent (`{ id, type, createdAt, data }`).'),
    attemptLog: z.array(WebhookAttempt),
    createdAt: Timestamp,
    deliveredAt: Timestamp.nullable(),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;
