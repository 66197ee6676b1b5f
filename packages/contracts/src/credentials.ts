import { z } from 'zod';
import { Id, Name, PageQuery, Timestamp } from './common.js';

const secret = (label: string) =>
  z
    .string()
    .trim()
    .min(1, `${label} must not be empty`)
    .max(4096, `${label} must be at most 4096 characters`);
const plain = (label: string) => z.string().trim().min(1, `${label} must not be empty`).max(512);
const url = z.url({ message: 'must be a URL' }).max(2048);

/**
 * What each kind of credential holds. Fields named in `secretFields` are encrypted at rest and never
 * returned; the others (account ids, base URLs) are shown back so a user can tell credentials apart.
 */
export const CREDENTIAL_PROVIDERS = {
  openai: {
    fields: z.strictObject({ apiKey: secret('apiKey'), baseUrl: url.optional() }),
    secretFields: ['apiKey'],
  },
  'openai-compatible': {
    fields: z.strictObject({ apiKey: secret('apiKey'), baseUrl: url }),
    secretFields: ['apiKey'],
  },
  groq: { fields: z.strictObject({ apiKey: secret('apiKey') }), secretFields: ['apiKey'] },
  openrouter: { fields: z.strictObject({ apiKey: secret('apiKey') }), secretFields: ['apiKey'] },
  together: { fields: z.strictObject({ apiKey: secret('apiKey') }), secretFields: ['apiKey'] },
  deepgram: { fields: z.strictObject({ apiKey: secret('apiKey') }), secretFields: ['apiKey'] },
  cartesia: { fields: z.strictObject({ apiKey: secret('apiKey') }), secretFields: ['apiKey'] },
  elevenlabs: { fields: z.strictObject({ apiKey: secret('apiKey') }), secretFields: ['apiKey'] },
  twilio: {
    fields: z.strictObject({
      accountSid: z
        .string()
        .regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio account SID (AC + 32 hex digits)'),
      authToken: secret('authToken'),
    }),
    secretFields: ['authToken'],
  },
  exotel: {
    fields: z.strictObject({
      accountSid: plain('accountSid'),
      apiKey: plain('apiKey'),
      apiToken: secret('apiToken'),
      subdomain: plain('subdomain').default('api.exotel.com'),
    }),
    secretFields: ['apiToken'],
  },
  plivo: {
    fields: z.strictObject({ authId: plain('authId'), authToken: secret('authToken') }),
    secretFields: ['authToken'],
  },
  vobiz: {
    fields: z.strictObject({ authId: plain('authId'), authToken: secret('authToken') }),
    secretFields: ['authToken'],
  },
  telnyx: {
    fields: z.strictObject({
      apiKey: secret('apiKey'),
      publicKey: plain('publicKey').optional(),
      // The Call Control application outbound calls are placed on (Telnyx's `connection_id`).
      connectionId: plain('connectionId').optional(),
    }),
    secretFields: ['apiKey'],
  },
  custom: {
    fields: z.strictObject({ secret: secret('secret'), headerName: plain('headerName').optional() }),
    secretFields: ['secret'],
  },
} as const satisfies Record<string, { fields: z.ZodType; secretFields: readonly string[] }>;

export type CredentialProvider = keyof typeof CREDENTIAL_PROVIDERS;
export const CredentialProvider = z.enum(
  Object.keys(CREDENTIAL_PROVIDERS) as [CredentialProvider, ...CredentialProvider[]],
);

export const CreateCredentialBody = z.strictObject({
  name: Name,
  provider: CredentialProvider,
  values: z
    .record(z.string(), z.unknown())
    .describe('The fields of this provider (see the credential docs).'),
});
export type CreateCredentialBody = z.infer<typeof CreateCredentialBody>;

export const UpdateCredentialBody = z
  .strictObject({
    name: Name.optional(),
    values: z.record(z.string(), z.unknown()).optional().describe('Replaces all the values.'),
  })
  .refine((b) => b.name !== undefined || b.values !== undefined, 'give `name`, `values` or both');
export type UpdateCredentialBody = z.infer<typeof UpdateCredentialBody>;

export const CredentialsQuery = PageQuery.extend({ provider: CredentialProvider.optional() });
export type CredentialsQuery = z.infer<typeof CredentialsQuery>;

export const Credential = z
  .object({
    id: Id,
    name: z.string(),
    provider: CredentialProvider,
    hint: z.string().describe('A masked view of the secret, e.g. `sk-…9f2c`.'),
    publicValues: z.record(z.string(), z.string()).describe('The non-secret fields.'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Credential' });
export type Credential = z.infer<typeof Credential>;

/** Validates the values of a credential against its provider, prefixing paths with `values`. */
export function parseCredentialValues(provider: CredentialProvider, values: unknown) {
  return CREDENTIAL_PROVIDERS[provider].fields.safeParse(values);
}
