import type { Credential, CredentialProvider, UpdateCredentialBody } from '@parley/contracts';
import { credentials, eq } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { findCredential, toCredential } from './credential-row.js';
import { sealCredentialValues } from './seal-values.js';

/** Renames a credential and/or replaces all its values (validated against its provider, which is fixed). */
export async function updateCredential(
  ctx: OrgContext,
  id: string,
  input: UpdateCredentialBody,
): Promise<Credential> {
  authorize(ctx, 'credentials:write');
  return ctx.db.transaction(async (tx) => {
    const existing = await findCredential(tx, ctx.organizationId, id, { lock: true });
    const sealed =
      input.values === undefined
        ? {}
        : sealCredentialValues(ctx.secretBox, existing.provider as CredentialProvider, input.values);
    const [row] = await tx
      .update(credentials)
      .set({ ...(input.name === undefined ? {} : { name: input.name }), ...sealed, updatedAt: nowOf(ctx) })
      .where(eq(credentials.id, existing.id))
      .returning();
    if (!row) throw new Error('update returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'credential.update',
      targetType: 'credential',
      targetId: row.id,
      // Which parts changed, never the values themselves.
      details: { name: row.name, changed: Object.keys(input).filter((k) => k === 'name' || k === 'values') },
    });
    return toCredential(row);
  });
}
