import { z } from 'zod';
import { Id, Name, Timestamp } from './common.js';

/**
 * API-key scopes. A scope grants the matching permission; `admin` grants everything an organization
 * admin may do. No key can delete the organization or transfer its ownership.
 */
export const API_KEY_SCOPES = [
  'agents:read',
  'agents:write',
  'calls:read',
  'calls:write',
  'phone_numbers:read',
  'phone_numbers:write',
  'credentials:read',
  'credentials:write',
  'tools:read',
  'tools:write',
  'members:read',
  'audit_log:read',
  'webhooks:read',
  'webhooks:write',
  'admin',
] as const;
export const ApiKeyScope = z.enum(API_KEY_SCOPES);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;

export const CreateApiKeyBody = z.strictObject({
  name: Name,
  scopes: z.array(ApiKeyScope).min(1, 'must list at least one scope').max(API_KEY_SCOPES.length),
  expiresAt: z.iso
    .datetime({ offset: true })
    .optional()
    .refine((v) => v === undefined || Date.parse(v) > Date.now(), 'must be in the future'),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const ApiKey = z
  .object({
    id: Id,
    name: z.string(),
    prefix: z.string().describe('The visible start of the key, to recognise it.'),
    scopes: z.array(ApiKeyScope),
    expiresAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedApiKey = ApiKey.extend({
  secret: z.string().describe('The whole key. Shown once; Parley keeps only its hash.'),
});
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;
