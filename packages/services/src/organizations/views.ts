import type { Invitation, Member, Organization, Role } from '@parley/contracts';
import { and, eq, memberships, users, type Executor, type invitations, type organizations } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso, isoOrNull } from '../pagination.js';

export function toOrganization(row: typeof organizations.$inferSelect): Organization {
  return {
    id: row.id,
    name: row.name,
    suspended: row.suspendedAt !== null,
    recordingRetentionDays: row.recordingRetentionDays,
    transcriptRetentionDays: row.transcriptRetentionDays,
    createdAt: iso(row.createdAt),
  };
}

export function toInvitation(row: typeof invitations.$inferSelect): Invitation {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    expiresAt: iso(row.expiresAt),
    acceptedAt: isoOrNull(row.acceptedAt),
    createdAt: iso(row.createdAt),
  };
}

/** The columns of a Member, for queries joining memberships with users. */
export const memberColumns = {
  userId: memberships.userId,
  email: users.email,
  name: users.name,
  role: memberships.role,
  joinedAt: memberships.createdAt,
};

export function toMember(row: {
  userId: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: Date;
}): Member {
  return {
    userId: row.userId,
    email: row.email,
    name: row.name,
    role: row.role,
    joinedAt: iso(row.joinedAt),
  };
}

/** One member of the organization, or `member_not_found` (also for members of other organizations). */
export async function findMember(db: Executor, organizationId: string, userId: string): Promise<Member> {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
  if (!row) throw new ServiceError('member_not_found', 'Member not found');
  return toMember(row);
}
