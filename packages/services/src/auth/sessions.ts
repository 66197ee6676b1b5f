import { and, eq, gt, sessions, users, type Executor } from '@parley/db';
import { audit } from '../audit.js';
import { nowOf, type ServiceContext, type ServiceDeps } from '../context.js';
import { hashToken, randomToken } from '../secret-box.js';

export interface IssuedSession {
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

export async function issueSession(tx: Executor, deps: ServiceDeps, userId: string): Promise<IssuedSession> {
  const token = randomToken();
  const csrfToken = randomToken(24);
  const expiresAt = new Date(nowOf(deps).getTime() + deps.sessionTtlMs);
  await tx.insert(sessions).values({ tokenHash: hashToken(token), userId, csrfToken, expiresAt });
  return { token, csrfToken, expiresAt };
}

export interface AuthenticatedSession {
  sessionId: string;
  csrfToken: string;
  user: { id: string; email: string; isInstanceAdmin: boolean };
}

// Refreshing last-seen on every request would turn every read into a write.
const LAST_SEEN_RESOLUTION_MS = 60_000;

/** The session a cookie token names, if it exists and has not expired. */
export async function authenticateSession(
  deps: ServiceDeps,
  token: string,
): Promise<AuthenticatedSession | null> {
  const now = nowOf(deps);
  const [row] = await deps.db
    .select({
      sessionId: sessions.id,
      csrfToken: sessions.csrfToken,
      lastSeenAt: sessions.lastSeenAt,
      userId: users.id,
      email: users.email,
      isInstanceAdmin: users.isInstanceAdmin,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, hashToken(token)), gt(sessions.expiresAt, now)));
  if (!row) return null;
  if (now.getTime() - row.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    await deps.db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, row.sessionId));
  }
  return {
    sessionId: row.sessionId,
    csrfToken: row.csrfToken,
    user: { id: row.userId, email: row.email, isInstanceAdmin: row.isInstanceAdmin },
  };
}

/** Ends the session a cookie names; the audit row says who signed out. */
export async function endSession(ctx: ServiceContext, token: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const ended = await tx
      .delete(sessions)
      .where(eq(sessions.tokenHash, hashToken(token)))
      .returning({ userId: sessions.userId });
    if (ended.length > 0 && ctx.actor.type === 'user') {
      await audit(tx, ctx, {
        organizationId: null,
        action: 'user.logout',
        targetType: 'user',
        targetId: ctx.actor.userId,
      });
    }
  });
}
