// What only the database can check about a phone number's references: its credential and its inbound
// agent must be objects of the same organization, and the credential must be of the number's carrier;
// its assistant request hook's credential must be a `custom` one of the same organization.
import type { Carrier, FieldIssue } from '@parley/contracts';
import { agents, and, credentials, eq, isNull, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';

export interface PhoneNumberReferences {
  credentialId?: string | null | undefined;
  inboundAgentId?: string | null | undefined;
  assistantRequest?: { credentialId?: string | undefined } | null | undefined;
}

async function credentialIssue(
  db: Executor,
  organizationId: string,
  carrier: Carrier,
  credentialId: string,
): Promise<FieldIssue | null> {
  // FOR SHARE: the credential cannot be deleted while a number that starts using it is being saved.
  const [credential] = await db
    .select({ provider: credentials.provider })
    .from(credentials)
    .where(and(eq(credentials.id, credentialId), eq(credentials.organizationId, organizationId)))
    .for('share');
  if (!credential) return { path: 'credentialId', message: 'no such credential in this organization' };
  if (credential.provider !== carrier) {
    return { path: 'credentialId', message: `the credential is for ${credential.provider}, not ${carrier}` };
  }
  return null;
}

/** The hook's request is signed like a webhook tool's: with a `custom` credential of the organization. */
async function hookCredentialIssue(
  db: Executor,
  organizationId: string,
  credentialId: string,
): Promise<FieldIssue | null> {
  const path = 'assistantRequest.credentialId';
  const [credential] = await db
    .select({ provider: credentials.provider })
    .from(credentials)
    .where(and(eq(credentials.id, credentialId), eq(credentials.organizationId, organizationId)))
    .for('share');
  if (!credential) return { path, message: 'no such credential in this organization' };
  if (credential.provider !== 'custom') {
    return { path, message: `the credential is for ${credential.provider}, not custom` };
  }
  return null;
}

async function agentIssue(db: Executor, organizationId: string, agentId: string): Promise<FieldIssue | null> {
  // An unpublished agent is accepted: it can be published later, and until then calls are refused.
  const [agent] = await db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId), isNull(agents.deletedAt)))
    .for('share');
  return agent ? null : { path: 'inboundAgentId', message: 'no such agent in this organization' };
}

/**
 * Checks the references a create or an edit sets (absent and null ones set nothing to check) and
 * answers every offending field in one 422 `invalid_reference`. Another organization's credential or
 * agent is reported exactly like a missing one.
 */
export async function checkPhoneNumberReferences(
  db: Executor,
  organizationId: string,
  carrier: Carrier,
  refs: PhoneNumberReferences,
): Promise<void> {
  const issues = [
    refs.credentialId ? await credentialIssue(db, organizationId, carrier, refs.credentialId) : null,
    refs.inboundAgentId ? await agentIssue(db, organizationId, refs.inboundAgentId) : null,
    refs.assistantRequest?.credentialId
      ? await hookCredentialIssue(db, organizationId, refs.assistantRequest.credentialId)
      : null,
  ].filter((issue): issue is FieldIssue => issue !== null);
  if (issues.length > 0) {
    const summary = issues.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new ServiceError('invalid_reference', `Invalid phone number: ${summary}`, issues);
  }
}
