import type { SignupBody, User } from '@parley/contracts';
import { eq, organizations, users } from '@parley/db';
import { audit } from '../audit.js';
import type { OrgContext, ServiceContext } from '../context.js';
import { requireInstanceAdmin } from '../context.js';
import { ServiceError } from '../errors.js';
import { ROLE_PERMISSIONS } from '../permissions.js';
import { createAccount, toUser } from '../auth/accounts.js';

/**
 * An organization context for operators acting from the CLI: the powers of an organization admin
 * (the owner-only powers stay with the owner).
 */
export async function operatorOrgContext(ctx: ServiceContext, organizationId: string): Promise<OrgContext> {
  requireInstanceAdmin(ctx);
  const [org] = await ctx.db.select().from(organizations).where(eq(organizations.id, organizationId));
  if (!org) throw new ServiceError('organization_not_found', 'Organization not found');
  return {
    ...ctx,
    organizationId: org.id,
    role: null,
    permissions: ROLE_PERMISSIONS.admin,
    suspended: org.suspendedAt !== null,
  };
}

/** `parley user create`: a user with their own organization, optionally an instance administrator. */
export async function createUserAsOperator(
  ctx: ServiceContext,
  input: SignupBody & { isInstanceAdmin: boolean },
): Promise<{ user: User; organizationId: string }> {
  requireInstanceAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    const { isInstanceAdmin, ...account } = input;
    const { user, organizationId } = await createAccount(tx, account, { isInstanceAdmin });
    await audit(tx, ctx, {
      organizationId,
      action: 'user.create',
      targetType: 'user',
      targetId: user.id,
      details: { isInstanceAdmin },
    });
    return { user: toUser(user), organizationId };
  });
}

/** `parley admin grant|revoke`: instance administrators are made only from the command line. */
export async function setInstanceAdmin(
  ctx: ServiceContext,
  email: string,
  isInstanceAdmin: boolean,
): Promise<User> {
  requireInstanceAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    const [user] = await tx
      .update(users)
      .set({ isInstanceAdmin })
      .where(eq(users.email, email.toLowerCase()))
      .returning();
    if (!user) throw new ServiceError('user_not_found', 'No user has this email');
    await audit(tx, ctx, {
      organizationId: null,
      action: isInstanceAdmin ? 'instance_admin.grant' : 'instance_admin.revoke',
      targetType: 'user',
      targetId: user.id,
    });
    return toUser(user);
  });
}
