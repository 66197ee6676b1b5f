// Phone numbers over the wire: the carriers Parley speaks, the E.164 format every number is stored in,
// the bodies that register and edit a number, and what the API answers, including the webhook URLs to
// paste into the carrier's console.
import { z } from 'zod';
import { Id, Name, PageQuery, Timestamp } from './common.js';
import type { CredentialProvider } from './credentials.js';

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

export const CreatePhoneNumberBody = z.strictObject({
  carrier: Carrier,
  number: E164,
  name: Name.optional().describe('A label for people; the number itself when absent.'),
  credentialId: Id.optional().describe(
    'The carrier credential that verifies its webhooks and controls its calls; of the same carrier.',
  ),
  inboundAgentId: Id.nullable().optional().describe('The agent that answers calls to this number.'),
});
export type CreatePhoneNumberBody = z.infer<typeof CreatePhoneNumberBody>;

/** The carrier and the number are what the number is; to change them, delete it and register another. */
export const UpdatePhoneNumberBody = z
  .strictObject({
    name: Name.optional(),
    credentialId: Id.nullable().optional().describe('`null` detaches the credential.'),
    inboundAgentId: Id.nullable().optional().describe('`null` stops answering calls to this number.'),
  })
  .refine(
    (b) => b.name !== undefined || b.credentialId !== undefined || b.inboundAgentId !== undefined,
    'give at least one of `name`, `credentialId`, `inboundAgentId`',
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
    webhooks: PhoneNumberWebhooks,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'PhoneNumber' });
export type PhoneNumber = z.infer<typeof PhoneNumber>;
