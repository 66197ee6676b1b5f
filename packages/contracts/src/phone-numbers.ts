// Phone numbers over the wire: the carriers Parley speaks, the E.164 format every number is stored in,
// the bodies that register and edit a number, and what the API answers, including the webhook URLs to
// paste into the carrier's console.
import { z } from 'zod';
import { Id, Name, PageQuery, Timestamp } from './common.js';
import type { CredentialProvider } from './credentials.js';
import { CustomerHeaders } from './http-headers.js';

/**
 * The carriers a number can belong to. Each is also a credential provider: a number's credential
 * (the one that signs and verifies the carrier's requests) must be of its carrier.
 */
export const CARRIERS = [
  'twilio',
  'exotel',
  'vobiz',
  'plivo',
  'telnyx',
] as const satisfies readonly CredentialProvider[];
export const Carrier = z.enum(CARRIERS);
export type Carrier = z.infer<typeof Carrier>;

/**
 * A number in E.164: `+`, then 8 to 15 digits, the first not 0 (no country code starts with 0). Strict
 * on purpose: inbound calls are routed by comparing this text with what the carrier sends, so a
 * number stored with spaces or a national prefix would never match.
 */
export const E164 = z
  .string()
  .regex(
    /^\+[1-9][0-9]{7,14}$/,
    'must be an E.164 number: + then 8 to 15 digits (the first not 0), with no spaces or dashes, e.g. +14155550100',
  );

/** The carrier waits for Parley's answer while the hook is asked: a short wait, and never a long one. */
export const ASSISTANT_REQUEST_DEFAULT_TIMEOUT_MS = 1500;
export const ASSISTANT_REQUEST_MAX_TIMEOUT_MS = 5000;

/**
 * The inbound "assistant request" hook of a number: before a call to the number is answered, the
 * customer's server is asked which agent takes it, with which variables, first message and system
 * prompt. Whatever goes wrong (slow, failing, odd answer), the number's own agent takes the call.
 */
export const AssistantRequestConfig = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .max(2048)
    .describe(
      'Where Parley POSTs the call. https, or http to a host the operator allows (PARLEY_OUTBOUND_ALLOWED_HOSTS).',
    ),
  credentialId: Id.optional().describe(
    'A `custom` credential whose secret authenticates the request (sent as `Authorization: Bearer …`, or in the credential’s `headerName`).',
  ),
  headers: CustomerHeaders.default({}),
  timeoutMs: z
    .number()
    .int('must be a whole number of milliseconds')
    .min(100)
    .max(ASSISTANT_REQUEST_MAX_TIMEOUT_MS)
    .default(ASSISTANT_REQUEST_DEFAULT_TIMEOUT_MS)
    .describe('How long to wait for the answer before the number’s agent takes the call (100–5000).'),
});
export type AssistantRequestConfig = z.infer<typeof AssistantRequestConfig>;
export type AssistantRequestConfigInput = z.input<typeof AssistantRequestConfig>;

const AssistantRequestField = AssistantRequestConfig.nullable().describe(
  'The inbound assistant request hook (see docs/telephony.md); `null` turns it off.',
);

export const CreatePhoneNumberBody = z.strictObject({
  carrier: Carrier,
  number: E164,
  name: Name.optional().describe('A label for people; the number itself when absent.'),
  credentialId: Id.optional().describe(
    'The carrier credential that verifies its webhooks and controls its calls; of the same carrier.',
  ),
  inboundAgentId: Id.nullable().optional().describe('The agent that answers calls to this number.'),
  assistantRequest: AssistantRequestField.optional(),
});
export type CreatePhoneNumberBody = z.infer<typeof CreatePhoneNumberBody>;

/** The carrier and the number are what the number is; to change them, delete it and register another. */
export const UpdatePhoneNumberBody = z
  .strictObject({
    name: Name.optional(),
    credentialId: Id.nullable().optional().describe('`null` detaches the credential.'),
    inboundAgentId: Id.nullable().optional().describe('`null` stops answering calls to this number.'),
    assistantRequest: AssistantRequestField.optional(),
  })
  .refine(
    (b) =>
      b.name !== undefined ||
      b.credentialId !== undefined ||
      b.inboundAgentId !== undefined ||
      b.assistantRequest !== undefined,
    'give at least one of `name`, `credentialId`, `inboundAgentId`, `assistantRequest`',
  );
export type UpdatePhoneNumberBody = z.infer<typeof UpdatePhoneNumberBody>;

export const PhoneNumbersQuery = PageQuery.extend({
  carrier: Carrier.optional(),
  inboundAgentId: Id.optional().describe('Only the numbers this agent answers.'),
});
export type PhoneNumbersQuery = z.infer<typeof PhoneNumbersQuery>;

export const PhoneNumberWebhooks = z
  .object({
    inbound: z.string().describe('Where the carrier asks what to do with an incoming call (HTTP POST).'),
    status: z.string().describe('Where the carrier reports call progress and the end of a call (HTTP POST).'),
    media: z
      .string()
      .describe('The WebSocket the call audio streams to; Parley hands it to the carrier on each call.'),
    instructions: z.string().describe('What to paste where in this carrier’s console.'),
  })
  .meta({ id: 'PhoneNumberWebhooks' });
export type PhoneNumberWebhooks = z.infer<typeof PhoneNumberWebhooks>;

export const PhoneNumber = z
  .object({
    id: Id,
    carrier: Carrier,
    number: z.string().describe('E.164.'),
    name: z.string(),
    credentialId: Id.nullable(),
    inboundAgentId: Id.nullable(),
    assistantRequest: AssistantRequestConfig.nullable().describe(
      'The inbound assistant request hook; null when the number has none.',
    ),
    webhooks: PhoneNumberWebhooks,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'PhoneNumber' });
export type PhoneNumber = z.infer<typeof PhoneNumber>;
