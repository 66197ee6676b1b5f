import type { OwnershipTransfer } from '@parley/contracts';
import { and, eq, memberships } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, requireUser, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { lockOrganization } from './lock.js';
import { findMember } from './views.js';

/**
 * The owner hands the organization to another member, who becomes its owner; the previous owner stays
 * on as an admin. This is the only way an owner is made, so there is always exactly one.
 */
export async function transferOwnership(
  ctx: OrgContext,
  input: { userId: string },
): Promise<OwnershipTransfer> {
  authorize(ctx, 'organization:transfer');
  const actor = requireUser(ctx);
  if (input.userId === actor.userId) {
    throw new ServiceError('conflict', 'You already own this organization', { field: 'userId' });
  }
  return ctx.db.transaction(async (tx) => {
    await lockOrganization(tx, ctx.organizationId);
    const target = await findMember(tx, ctx.organizationId, input.userId);
    // Conditional on still being the owner: the role in the context was read before the lock.
    const [demoted] = await tx
      .update(memberships)
      .set({ role: 'admin' })
      .where(
        and(
          eq(memberships.organizationId, ctx.organizationId),
          eq(memberships.userId, actor.userId),
          eq(memberships.role, 'owner'),
        ),
      )
      .returning();
    if (!demoted) {
      throw new ServiceError('forbidden', 'Only the owner can transfer ownership', {
        required: 'organization:transfer',
      });
    }
    await tx
      .update(memberships)
      .set({ role: 'owner' })
      .where(and(eq(memberships.organizationId, ctx.organizationId), eq(memberships.userId, target.userId)));
    await auditInOrganization(tx, ctx, {
      action: 'organization.transfer_ownership',
      targetType: 'user',
      targetId: target.userId,
      details: { from: actor.userId, to: target.userId, previousRoleOfNewOwner: target.role },
    });
    return {
      owner: await findMember(tx, ctx.organizationId, target.userId),
      previousOwner: await findMember(tx, ctx.organizationId, actor.userId),
    };
  });
}
