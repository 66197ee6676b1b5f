import type { ApiKey } from '@parley/contracts';
import { and, apiKeys, eq, isNull } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { toApiKey } from './api-key-row.js';

/**
 * Revoking is immediate and final; the row stays so the audit trail can name the key. Revoking a
 * revoked key changes nothing and answers the key as it is.
 */
export async function revokeApiKey(ctx: OrgContext, id: string): Promise<ApiKey> {
  authorize(ctx, 'api_keys:write');
  return ctx.db.transaction(async (tx) => {
    const inOrganization = and(eq(apiKeys.id, id), eq(apiKeys.organizationId, ctx.organizationId));
    const [revoked] = await tx
      .update(apiKeys)
      .set({ revokedAt: nowOf(ctx) })
      .where(and(inOrganization, isNull(apiKeys.revokedAt)))
      .returning();
    if (revoked) {
      await auditInOrganization(tx, ctx, {
        action: 'api_key.revoke',
        targetType: 'api_key',
        targetId: revoked.id,
        details: { name: revoked.name },
      });
      return toApiKey(revoked);
    }
    const [existing] = await tx.select().from(apiKeys).where(inOrganization);
    if (!existing) throw new ServiceError('api_key_not_found', 'API key not found');
    return toApiKey(existing);
  });
}
