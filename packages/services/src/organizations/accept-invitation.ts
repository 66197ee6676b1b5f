import type { JoinedOrganization } from '@parley/contracts';
import { and, eq, gt, invitations, isNull, memberships, organizations, sql } from '@parley/db';
import { audit } from '../audit.js';
import { nowOf, requireUser, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { hashToken } from '../secret-box.js';

/**
 * A signed-in user accepts an invitation addressed to their email and joins with the invited role.
 * An unknown, expired, revoked, used or someone else's token all answer the same `invitation_not_found`,
 * so a token reveals nothing to whoever holds it but its addressee.
 */
export async function acceptInvitation(ctx: ServiceContext, token: string): Promise<JoinedOrganization> {
  const actor = requireUser(ctx);
  const now = nowOf(ctx);
  return ctx.db.transaction(async (tx) => {
    // One conditional update both checks and consumes the invitation, so it can be used only once.
    const [invitation] = await tx
      .update(invitations)
      .set({ acceptedAt: now })
      .where(
        and(
          eq(invitations.tokenHash, hashToken(token)),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
          gt(invitations.expiresAt, now),
          sql`lower(${invitations.email}) = ${actor.email.toLowerCase()}`,
        ),
      )
      .returning();
    if (!invitation) {
      throw new ServiceError('invitation_not_found', 'Invitation not found, expired or already used');
    }
    const [organization] = await tx
      .select()
      .from(organizations)
      .where(eq(organizations.id, invitation.organizationId));
    if (!organization) throw new ServiceError('invitation_not_found', 'Invitation not found');
    if (organization.suspendedAt) {
      throw new ServiceError(
        'organization_suspended',
        'This organization is suspended; nobody can join it now',
      );
    }
    // Throwing rolls the acceptance back, so the invitation stays usable (e.g. after leaving).
    const [joined] = await tx
      .insert(memberships)
      .values({ organizationId: organization.id, userId: actor.userId, role: invitation.role })
      .onConflictDoNothing()
      .returning();
    if (!joined) throw new ServiceError('already_member', 'You are already a member of this organization');
    await audit(tx, ctx, {
      organizationId: organization.id,
      action: 'invitation.accept',
      targetType: 'invitation',
      targetId: invitation.id,
      details: { userId: actor.userId, role: invitation.role },
    });
    return { id: organization.id, name: organization.name, role: invitation.role, suspended: false };
  });
}
