export { createWebhookEndpoint } from './create-webhook-endpoint.js';
export { listWebhookEndpoints } from './list-webhook-endpoints.js';
export { getWebhookEndpoint } from './get-webhook-endpoint.js';
export { updateWebhookEndpoint } from './update-webhook-endpoint.js';
export { deleteWebhookEndpoint } from './delete-webhook-endpoint.js';
export { rotateWebhookSecret } from './rotate-webhook-secret.js';
export { listWebhookDeliveries } from './list-webhook-deliveries.js';
export { replayWebhookDelivery } from './replay-webhook-delivery.js';
export { testWebhookEndpoint } from './test-webhook-endpoint.js';
export {
  enqueueWebhookEvent,
  enqueueWebhookEvents,
  type WebhookEventInput,
} from './enqueue-webhook-event.js';
export {
  deliverDueWebhooks,
  DEFAULT_WEBHOOK_BATCH_SIZE,
  type DeliveryBatch,
  type WebhookDeliveryOptions,
} from './deliver-due-webhooks.js';
export {
  DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
  signWebhookBody,
  verifyWebhookSignature,
  WEBHOOK_SIGNATURE_HEADER,
  type SignatureVerdict,
} from './signature.js';
export { nextAttemptAt, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_RETRY_DELAYS_MS } from './retry-schedule.js';
export { DISABLE_AFTER_FAILED_ATTEMPTS, DISABLE_AFTER_FAILING_MS } from './disable-failing-endpoint.js';
export { WEBHOOK_MAX_RESPONSE_BYTES, WEBHOOK_TIMEOUT_MS, type WebhookTransport } from './send-webhook.js';
export { RECORDING_LINK_TTL_MS, RecordingLinks } from './recording-links.js';
export { findLinkedRecording } from './find-linked-recording.js';
