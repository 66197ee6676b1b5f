import type { SignupBody, User } from '@parley/contracts';
import { count, users } from '@parley/db';
import { audit } from '../audit.js';
import { userActor, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { isSignupEnabled } from '../instance-settings.js';
import { createAccount, toUser } from './accounts.js';
import { issueSession, type IssuedSession } from './sessions.js';

export interface SignedIn {
  user: User;
  /** The organization to act in first; null for a user who belongs to none. */
  organizationId: string | null;
  session: IssuedSession;
}

/** Self-service sign-up: a new user owning a new organization. The first account comes from the setup link. */
export async function signup(ctx: ServiceContext, input: SignupBody): Promise<SignedIn> {
  return ctx.db.transaction(async (tx) => {
    const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(users);
    if (n === 0) {
      throw new ServiceError(
        'signup_disabled',
        'This instance is not set up yet: open the setup link printed at start-up',
      );
    }
    if (!(await isSignupEnabled(tx, ctx.signupEnabled))) {
      throw new ServiceError(
        'signup_disabled',
        'Sign-up is disabled on this instance; ask an administrator for an invitation',
      );
    }
    const { user, organizationId } = await createAccount(tx, input, { isInstanceAdmin: false });
    const actor = userActor(user);
    await audit(
      tx,
      { ...ctx, actor },
      { organizationId, action: 'user.signup', targetType: 'user', targetId: user.id },
    );
    return { user: toUser(user), organizationId, session: await issueSession(tx, ctx, user.id) };
  });
}
