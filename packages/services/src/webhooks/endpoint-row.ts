import { randomBytes } from 'node:crypto';
import type { WebhookEndpoint, WebhookEventType } from '@parley/contracts';
import { and, eq, webhookEndpoints, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso } from '../pagination.js';
import type { SecretBox } from '../secret-box.js';

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;

/** The public face of an endpoint: never its secret. */
export function toWebhookEndpoint(row: WebhookEndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes as WebhookEventType[],
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    consecutiveFailures: row.consecutiveFailures,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** An endpoint of this organization (locked when `lock`); another organization's is "not found". */
export async function findWebhookEndpoint(
  db: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<WebhookEndpointRow> {
  const query = db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.organizationId, organizationId)));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw new ServiceError('webhook_endpoint_not_found', 'Webhook endpoint not found');
  return row;
}

/** A new signing secret, sealed for storage: the clear one is returned to the caller once. */
export function newWebhookSecret(box: SecretBox): {
  secret: string;
  sealed: { secretKeyId: string; secretCiphertext: string };
} {
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const { keyId, ciphertext } = box.seal(secret);
  return { secret, sealed: { secretKeyId: keyId, secretCiphertext: ciphertext } };
}

/** The clear signing secret of an endpoint. */
export function openWebhookSecret(box: SecretBox, row: WebhookEndpointRow): string {
  try {
    return box.open({ keyId: row.secretKeyId, ciphertext: row.secretCiphertext });
  } catch {
    throw new ServiceError(
      'internal_error',
      `A webhook secret could not be decrypted (key id ${row.secretKeyId}; add the old secret to ` +
        'PARLEY_PREVIOUS_SECRET_KEYS) or its ciphertext was altered',
    );
  }
}
