import type { ApiKeyScope } from '@parley/contracts';
import { and, apiKeys, eq, isNull, type Executor } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { nowOf, type OrgContext } from '../context.js';
import { permissionsOfScopes, type Permission } from '../permissions.js';

/**
 * Keys follow the person who made them: when a member leaves or is removed (`remaining` null), all the
 * keys they created in the organization stop working; when their role is lowered, those whose scopes
 * grant more than the new role allows do. Runs inside the membership change's transaction.
 */
export async function revokeKeysOfMember(
  tx: Executor,
  ctx: OrgContext,
  userId: string,
  remaining: ReadonlySet<Permission> | null,
  reason: 'member_removed' | 'role_lowered',
): Promise<void> {
  const active = await tx
    .select({ id: apiKeys.id, name: apiKeys.name, scopes: apiKeys.scopes })
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.organizationId, ctx.organizationId),
        eq(apiKeys.createdBy, userId),
        isNull(apiKeys.revokedAt),
      ),
    );
  const exceeding = active.filter(
    (key) =>
      remaining === null ||
      [...permissionsOfScopes(key.scopes as ApiKeyScope[])].some((p) => !remaining.has(p)),
  );
  for (const key of exceeding) {
    await tx
      .update(apiKeys)
      .set({ revokedAt: nowOf(ctx) })
      .where(eq(apiKeys.id, key.id));
    await auditInOrganization(tx, ctx, {
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: key.id,
      details: { name: key.name, reason },
    });
  }
}
