import type { Credential, CredentialProvider } from '@parley/contracts';
import { and, credentials, eq, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso } from '../pagination.js';

export type CredentialRow = typeof credentials.$inferSelect;

/** The public face of a credential: never the ciphertext, only the hint and the non-secret fields. */
export function toCredential(row: CredentialRow): Credential {
  return {
    id: row.id,
    name: row.name,
    provider: row.provider as CredentialProvider,
    hint: row.hint,
    publicValues: row.publicValues,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** A credential of this organization (locked for the transaction when `lock`); another's is "not found". */
export async function findCredential(
  db: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<CredentialRow> {
  const query = db
    .select()
    .from(credentials)
    .where(and(eq(credentials.id, id), eq(credentials.organizationId, organizationId)));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw new ServiceError('credential_not_found', 'Credential not found');
  return row;
}
