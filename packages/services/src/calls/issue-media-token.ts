// An outbound call was answered: the carrier asks what to do with it, and the answer names our media
// socket with a fresh single-use token for that call (the same token check as inbound calls).
import { calls, eq, type Database } from '@parley/db';
import { hashToken, randomToken } from '../secret-box.js';
import { MEDIA_TOKEN_TTL_MS } from './begin-inbound-call.js';
import { isFinalCallStatus } from './call-status.js';

/** The token, or null when the call is over (or unknown) and must not be connected. */
export async function issueMediaToken(db: Database, callId: string, now: Date): Promise<string | null> {
  const token = randomToken();
  return db.transaction(async (tx) => {
    const [call] = await tx
      .select({ status: calls.status })
      .from(calls)
      .where(eq(calls.id, callId))
      .for('update');
    if (!call || isFinalCallStatus(call.status)) return null;
    await tx
      .update(calls)
      .set({
        mediaTokenHash: hashToken(token),
        mediaTokenExpiresAt: new Date(now.getTime() + MEDIA_TOKEN_TTL_MS),
        updatedAt: now,
      })
      .where(eq(calls.id, callId));
    return token;
  });
}
