import type { LoginBody } from '@parley/contracts';
import { eq, memberships, users } from '@parley/db';
import { audit } from '../audit.js';
import { userActor, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { toUser } from './accounts.js';
import { verifyPassword } from './passwords.js';
import { issueSession } from './sessions.js';
import type { SignedIn } from './signup.js';

/** Unknown email and wrong password get the same answer, after the same work. */
export async function login(ctx: ServiceContext, input: LoginBody): Promise<SignedIn> {
  const [user] = await ctx.db.select().from(users).where(eq(users.email, input.email));
  const ok = await verifyPassword(user?.passwordHash, input.password);
  if (!user || !ok) throw new ServiceError('invalid_credentials', 'Email or password is incorrect');
  return ctx.db.transaction(async (tx) => {
    const [first] = await tx
      .select({ organizationId: memberships.organizationId })
      .from(memberships)
      .where(eq(memberships.userId, user.id))
      .orderBy(memberships.createdAt)
      .limit(1);
    const actor = userActor(user);
    await audit(
      tx,
      { ...ctx, actor },
      { organizationId: null, action: 'user.login', targetType: 'user', targetId: user.id },
    );
    return {
      user: toUser(user),
      organizationId: first?.organizationId ?? null,
      session: await issueSession(tx, ctx, user.id),
    };
  });
}
