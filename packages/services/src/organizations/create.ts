import type { Organization } from '@parley/contracts';
import { and, count, eq, memberships, organizations, users } from '@parley/db';
import { audit } from '../audit.js';
import { requireUser, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { readInstanceSettings } from '../instance-settings.js';
import { toOrganization } from './views.js';

/**
 * A signed-in user creates another organization and becomes its owner. The instance setting
 * `maxOrganizationsPerUser` caps how many organizations a user owns (memberships by invitation do not
 * count: the cap is against one person creating tenants without end, not against being invited).
 */
export async function createOrganization(
  ctx: ServiceContext,
  input: { name: string },
): Promise<Organization> {
  const actor = requireUser(ctx);
  return ctx.db.transaction(async (tx) => {
    // Locking the user's row makes their concurrent creations take turns, so the cap holds under races.
    const [user] = await tx
      .select({ id: users.id })
      .from(users)
      .where(eq(users.id, actor.userId))
      .for('update');
    if (!user) throw new ServiceError('unauthenticated', 'The user of this session no longer exists');
    const { maxOrganizationsPerUser } = await readInstanceSettings(tx);
    const [{ owned } = { owned: 0 }] = await tx
      .select({ owned: count() })
      .from(memberships)
      .where(and(eq(memberships.userId, actor.userId), eq(memberships.role, 'owner')));
    if (owned >= maxOrganizationsPerUser) {
      throw new ServiceError(
        'organization_limit_reached',
        `You already own ${owned} organizations, the most this instance allows`,
        { limit: maxOrganizationsPerUser },
      );
    }
    const [organization] = await tx.insert(organizations).values({ name: input.name }).returning();
    if (!organization) throw new Error('insert returned no row');
    await tx
      .insert(memberships)
      .values({ organizationId: organization.id, userId: actor.userId, role: 'owner' });
    await audit(tx, ctx, {
      organizationId: organization.id,
      action: 'organization.create',
      targetType: 'organization',
      targetId: organization.id,
      details: { name: organization.name },
    });
    return toOrganization(organization);
  });
}
