import type { SignupBody, User } from '@parley/contracts';
import { eq, memberships, organizations, users, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso } from '../pagination.js';
import { hashPassword } from './passwords.js';

export function toUser(row: typeof users.$inferSelect): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    isInstanceAdmin: row.isInstanceAdmin,
    createdAt: iso(row.createdAt),
  };
}

/** Creates a user, an organization and the user's owner membership of it. */
export async function createAccount(
  tx: Executor,
  input: SignupBody,
  options: { isInstanceAdmin: boolean },
): Promise<{ user: typeof users.$inferSelect; organizationId: string }> {
  const emailTaken = () =>
    new ServiceError('email_taken', 'A user with this email already exists', { field: 'email' });
  const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, input.email));
  if (existing) throw emailTaken();
  const passwordHash = await hashPassword(input.password);
  // A sign-up racing this one for the same email may commit first: the unique index decides.
  const [user] = await tx
    .insert(users)
    .values({ email: input.email, name: input.name, passwordHash, isInstanceAdmin: options.isInstanceAdmin })
    .onConflictDoNothing({ target: users.email })
    .returning();
  if (!user) throw emailTaken();
  const [organization] = await tx.insert(organizations).values({ name: input.organizationName }).returning();
  if (!organization) throw new Error('insert returned no row');
  await tx.insert(memberships).values({ organizationId: organization.id, userId: user.id, role: 'owner' });
  return { user, organizationId: organization.id };
}
