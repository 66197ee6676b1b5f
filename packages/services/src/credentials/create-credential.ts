import type { CreateCredentialBody, Credential } from '@parley/contracts';
import { credentials } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { toCredential } from './credential-row.js';
import { sealCredentialValues } from './seal-values.js';

export async function createCredential(ctx: OrgContext, input: CreateCredentialBody): Promise<Credential> {
  authorize(ctx, 'credentials:write');
  const sealed = sealCredentialValues(ctx.secretBox, input.provider, input.values);
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(credentials)
      .values({ organizationId: ctx.organizationId, name: input.name, provider: input.provider, ...sealed })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'credential.create',
      targetType: 'credential',
      targetId: row.id,
      details: { name: row.name, provider: row.provider },
    });
    return toCredential(row);
  });
}
