import type { CreateInvitationBody, CreatedInvitation, Invitation, Page, PageQuery } from '@parley/contracts';
import { and, desc, eq, gt, invitations, isNull, lt, memberships, users } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { actorUserId, authorize, nowOf, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { toPage } from '../pagination.js';
import { hashToken, randomToken } from '../secret-box.js';
import { lockOrganization } from './lock.js';
import { toInvitation } from './views.js';

const HOUR_MS = 3600_000;

/** Not accepted, not revoked and not expired: the only invitations that can still be used. */
const pending = (now: Date) =>
  and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now));

/**
 * Invites an email address with a role. The token is returned once, in the link to send; only its hash
 * is kept. Inviting the same address again replaces the earlier pending invitation, so one link works.
 */
export async function createInvitation(
  ctx: OrgContext,
  input: CreateInvitationBody,
): Promise<CreatedInvitation> {
  authorize(ctx, 'members:write');
  const email = input.email.toLowerCase();
  const token = randomToken(32);
  const now = nowOf(ctx);
  return ctx.db.transaction(async (tx) => {
    // Two invitations to one email racing each other must still leave a single pending one.
    await lockOrganization(tx, ctx.organizationId);
    const [existing] = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.organizationId, ctx.organizationId), eq(users.email, email)));
    if (existing) {
      throw new ServiceError('already_member', 'This person is already a member of the organization', {
        field: 'email',
      });
    }
    const replaced = await tx
      .update(invitations)
      .set({ revokedAt: now })
      .where(
        and(eq(invitations.organizationId, ctx.organizationId), eq(invitations.email, email), pending(now)),
      )
      .returning({ id: invitations.id });
    const [row] = await tx
      .insert(invitations)
      .values({
        organizationId: ctx.organizationId,
        email,
        role: input.role,
        tokenHash: hashToken(token),
        invitedBy: actorUserId(ctx),
        expiresAt: new Date(now.getTime() + input.expiresInHours * HOUR_MS),
      })
      .returning();
    if (!row) throw new Error('insert returned no row');
    await auditInOrganization(tx, ctx, {
      action: 'invitation.create',
      targetType: 'invitation',
      targetId: row.id,
      details: { email, role: row.role, replaced: replaced.map((r) => r.id) },
    });
    return {
      ...toInvitation(row),
      token,
      acceptUrl: `${ctx.publicUrl}/invitations/accept?token=${encodeURIComponent(token)}`,
    };
  });
}

/** Pending invitations, newest first. */
export async function listInvitations(ctx: OrgContext, query: PageQuery): Promise<Page<Invitation>> {
  authorize(ctx, 'members:read');
  const rows = await ctx.db
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.organizationId, ctx.organizationId),
        pending(nowOf(ctx)),
        query.cursor ? lt(invitations.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(invitations.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toInvitation);
}

/** Revokes a pending invitation: its link stops working at once. */
export async function revokeInvitation(ctx: OrgContext, id: string): Promise<void> {
  authorize(ctx, 'members:write');
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(invitations)
      .set({ revokedAt: nowOf(ctx) })
      .where(
        and(eq(invitations.id, id), eq(invitations.organizationId, ctx.organizationId), pending(nowOf(ctx))),
      )
      .returning();
    if (!row) throw new ServiceError('invitation_not_found', 'Invitation not found, expired or already used');
    await auditInOrganization(tx, ctx, {
      action: 'invitation.revoke',
      targetType: 'invitation',
      targetId: row.id,
      details: { email: row.email, role: row.role },
    });
  });
}
