import type { AssignableRole, Member, Page, PageQuery, Role } from '@parley/contracts';
import { and, asc, eq, memberships, sql, users } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { organizationSuspended, ServiceError } from '../errors.js';
import { toPage } from '../pagination.js';
import { lockOrganization } from './lock.js';
import { ROLE_PERMISSIONS } from '../permissions.js';
import { revokeKeysOfMember } from '../api-keys/revoke-keys-of-member.js';
import { findMember, memberColumns, toMember } from './views.js';

/**
 * Members in the order they joined. A membership has no id of its own, so the cursor is the user id
 * of the last member seen and the next page starts after that member's join time.
 */
export async function listMembers(ctx: OrgContext, query: PageQuery): Promise<Page<Member>> {
  authorize(ctx, 'members:read');
  const inOrganization = eq(memberships.organizationId, ctx.organizationId);
  if (query.cursor) {
    const [cursorMember] = await ctx.db
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(and(inOrganization, eq(memberships.userId, query.cursor)));
    // Without that member there is no position to continue from; say so rather than restart silently.
    if (!cursorMember) {
      throw new ServiceError('invalid_request', 'The cursor names a user who is no longer a member', [
        { path: 'querystring.cursor', message: 'is no longer a member; list again from the start' },
      ]);
    }
  }
  const rows = await ctx.db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(
      and(
        inOrganization,
        // Compared in SQL to keep the database's microsecond join times exact.
        query.cursor
          ? sql`(${memberships.createdAt}, ${memberships.userId}) > (select c.created_at, c.user_id from memberships c where c.organization_id = ${ctx.organizationId} and c.user_id = ${query.cursor})`
          : undefined,
      ),
    )
    .orderBy(asc(memberships.createdAt), asc(memberships.userId))
    .limit(query.limit + 1);
  return toPage(
    rows.map((r) => ({ ...r, id: r.userId })),
    query.limit,
    toMember,
  );
}

const isPromotion = (from: Role, to: Role) =>
  [...ROLE_PERMISSIONS[from]].every((permission) => ROLE_PERMISSIONS[to].has(permission));

/** Changes a member's role. The owner's role never changes this way: owners are made by transfer. */
export async function changeMemberRole(
  ctx: OrgContext,
  userId: string,
  input: { role: AssignableRole },
): Promise<Member> {
  authorize(ctx, 'members:write');
  return ctx.db.transaction(async (tx) => {
    await lockOrganization(tx, ctx.organizationId);
    const member = await findMember(tx, ctx.organizationId, userId);
    if (member.role === 'owner') {
      throw new ServiceError(
        'last_owner',
        "The owner's role cannot be changed; the owner transfers ownership instead",
      );
    }
    await tx
      .update(memberships)
      .set({ role: input.role })
      .where(and(eq(memberships.organizationId, ctx.organizationId), eq(memberships.userId, userId)));
    await auditInOrganization(tx, ctx, {
      action: 'member.update_role',
      targetType: 'user',
      targetId: userId,
      details: { role: { from: member.role, to: input.role } },
    });
    if (!isPromotion(member.role as Role, input.role)) {
      await revokeKeysOfMember(tx, ctx, userId, ROLE_PERMISSIONS[input.role], 'role_lowered');
    }
    return { ...member, role: input.role };
  });
}

/**
 * Removes a member. Managing members takes `members:write`, but anyone may remove themselves (leave),
 * whatever their role. The owner can be neither removed nor leave: they transfer ownership first.
 */
export async function removeMember(ctx: OrgContext, userId: string): Promise<void> {
  const leaving = ctx.actor.type === 'user' && ctx.actor.userId === userId;
  if (!leaving) authorize(ctx, 'members:write');
  else if (ctx.suspended) throw organizationSuspended();
  await ctx.db.transaction(async (tx) => {
    await lockOrganization(tx, ctx.organizationId);
    const member = await findMember(tx, ctx.organizationId, userId);
    if (member.role === 'owner') {
      throw new ServiceError(
        'last_owner',
        leaving
          ? 'The owner cannot leave the organization; transfer ownership first'
          : 'The owner cannot be removed',
      );
    }
    await tx
      .delete(memberships)
      .where(and(eq(memberships.organizationId, ctx.organizationId), eq(memberships.userId, userId)));
    await auditInOrganization(tx, ctx, {
      action: leaving ? 'member.leave' : 'member.remove',
      targetType: 'user',
      targetId: userId,
      details: { role: member.role },
    });
    await revokeKeysOfMember(tx, ctx, userId, null, 'member_removed');
  });
}
