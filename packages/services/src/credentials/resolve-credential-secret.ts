import type { OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { findCredential } from './credential-row.js';
import { openSecretPart } from './seal-values.js';

/**
 * All the values of a credential, secrets decrypted, for the server's own use (the voice runtime
 * calling a provider). Never exposed over HTTP: only a system actor may call it.
 */
export async function resolveCredentialSecret(ctx: OrgContext, id: string): Promise<Record<string, string>> {
  if (ctx.actor.type !== 'system') {
    throw new ServiceError('forbidden', 'Credential secrets are only for the server’s own use');
  }
  const row = await findCredential(ctx.db, ctx.organizationId, id);
  return { ...row.publicValues, ...openSecretPart(ctx.secretBox, row) };
}
