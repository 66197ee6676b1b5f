import type { SetupBody } from '@parley/contracts';
import { count, eq, instanceSettings, users, type Executor } from '@parley/db';
import { audit } from '../audit.js';
import { userActor, type ServiceContext, type ServiceDeps } from '../context.js';
import { ServiceError } from '../errors.js';
import { constantTimeEqual, hashToken, randomToken } from '../secret-box.js';
import { createAccount, toUser } from './accounts.js';
import { issueSession } from './sessions.js';
import type { SignedIn } from './signup.js';

const SETUP_TOKEN_KEY = 'setup_token_hash';

async function userCount(db: Executor): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

export async function needsSetup(deps: ServiceDeps): Promise<boolean> {
  return (await userCount(deps.db)) === 0;
}

/**
 * While the instance has no user, issues a fresh one-time setup token (replacing any earlier one) and
 * returns the link that creates the owner; once an owner exists, returns null. Only the token's hash
 * is stored, so the link is shown once, in the start-up log.
 */
export async function issueSetupLink(deps: ServiceDeps): Promise<string | null> {
  if (!(await needsSetup(deps))) return null;
  const token = randomToken();
  await deps.db
    .insert(instanceSettings)
    .values({ key: SETUP_TOKEN_KEY, value: hashToken(token) })
    .onConflictDoUpdate({
      target: instanceSettings.key,
      set: { value: hashToken(token), updatedAt: new Date() },
    });
  return `${deps.publicUrl}/setup?token=${token}`;
}

/** Redeems the setup link: the first user, owner of the first organization and instance administrator. */
export async function completeSetup(ctx: ServiceContext, input: SetupBody): Promise<SignedIn> {
  return ctx.db.transaction(async (tx) => {
    const [stored] = await tx
      .select({ value: instanceSettings.value })
      .from(instanceSettings)
      .where(eq(instanceSettings.key, SETUP_TOKEN_KEY))
      .for('update');
    if (
      !stored ||
      typeof stored.value !== 'string' ||
      !constantTimeEqual(stored.value, hashToken(input.token))
    ) {
      throw new ServiceError(
        'setup_token_invalid',
        'This setup link is not valid (it may have been used already)',
      );
    }
    if ((await userCount(tx)) > 0) {
      throw new ServiceError('setup_token_invalid', 'This instance is already set up');
    }
    await tx.delete(instanceSettings).where(eq(instanceSettings.key, SETUP_TOKEN_KEY));
    const { token: _token, ...signup } = input;
    const { user, organizationId } = await createAccount(tx, signup, { isInstanceAdmin: true });
    const actor = userActor(user);
    await audit(
      tx,
      { ...ctx, actor },
      { organizationId, action: 'instance.setup', targetType: 'user', targetId: user.id },
    );
    return { user: toUser(user), organizationId, session: await issueSession(tx, ctx, user.id) };
  });
}
