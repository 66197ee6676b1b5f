import { and, eq, memberships, organizations } from '@parley/db';
import type { Role } from '@parley/contracts';
import type { OrgContext, ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { ROLE_PERMISSIONS, permissionsOfScopes } from '../permissions.js';

/**
 * Binds a request to an organization. A user acts in the one named by the `Parley-Organization`
 * header, or their first; an organization they are not a member of is "not found", exactly like one
 * that does not exist. An API key acts only in its own organization.
 */
export async function enterOrganization(
  ctx: ServiceContext,
  requestedId: string | undefined,
): Promise<OrgContext> {
  const actor = ctx.actor;
  if (actor.type === 'api_key') {
    if (requestedId !== undefined && requestedId !== actor.organizationId) {
      throw new ServiceError('organization_not_found', 'Organization not found');
    }
    // No second lookup: authenticateApiKey found the key through its organization (a deleted
    // organization takes its keys with it) and refused it if the organization is suspended.
    return {
      ...ctx,
      organizationId: actor.organizationId,
      role: null,
      permissions: permissionsOfScopes(actor.scopes),
      suspended: false,
    };
  }
  if (actor.type !== 'user') throw new Error('system actors act through explicit organization ids');
  const query = ctx.db
    .select({ id: organizations.id, role: memberships.role, suspendedAt: organizations.suspendedAt })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId));
  const [row] = requestedId
    ? await query.where(
        and(eq(memberships.userId, actor.userId), eq(memberships.organizationId, requestedId)),
      )
    : await query.where(eq(memberships.userId, actor.userId)).orderBy(memberships.createdAt).limit(1);
  if (!row) throw new ServiceError('organization_not_found', 'Organization not found');
  return {
    ...ctx,
    organizationId: row.id,
    role: row.role as Role,
    permissions: ROLE_PERMISSIONS[row.role as Role],
    suspended: row.suspendedAt !== null,
  };
}
