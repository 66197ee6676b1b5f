import type { Me, Role } from '@parley/contracts';
import { eq, memberships, organizations, users } from '@parley/db';
import type { ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { toUser } from './accounts.js';

/** The signed-in user with every organization they belong to and their role in each. */
export async function getMe(
  ctx: ServiceContext,
  current: { organizationId: string | null; csrfToken: string | null },
): Promise<Me> {
  if (ctx.actor.type !== 'user') throw new ServiceError('forbidden', 'Only a signed-in user has a profile');
  const [user] = await ctx.db.select().from(users).where(eq(users.id, ctx.actor.userId));
  if (!user) throw new ServiceError('unauthenticated', 'The user of this session no longer exists');
  const orgs = await ctx.db
    .select({
      id: organizations.id,
      name: organizations.name,
      role: memberships.role,
      suspendedAt: organizations.suspendedAt,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(eq(memberships.userId, user.id))
    .orderBy(memberships.createdAt);
  return {
    user: toUser(user),
    organizations: orgs.map((o) => ({
      id: o.id,
      name: o.name,
      role: o.role as Role,
      suspended: o.suspendedAt !== null,
    })),
    currentOrganizationId: current.organizationId,
    csrfToken: current.csrfToken,
  };
}
