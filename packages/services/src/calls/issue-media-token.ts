// An outbound call was answered: the carrier asks what to do with it, and the answer names our media
// socket with a fresh single-use token for that call (the same token check as inbound calls).
import { calls, eq, type Database } from '@parley/db';
import { hashToken, randomToken } from '../secret-box.js';
import { MEDIA_TOKEN_TTL_MS } from './begin-inbound-call.js';
import { isFinalCallStatus } from './call-status.js';

/**
 * The token, or null when the call is over (or unknown) and must not be connected. A token issued
 * before the call rings (carriers given the media URL when the call is placed) needs a `lifetimeMs`
 * that covers the ringing; one issued at the answer keeps the default.
 */
export async function issueMediaToken(
  db: Database,
  callId: string,
  now: Date,
  options: { lifetimeMs?: number } = {},
): Promise<string | null> {
  const lifetimeMs = options.lifetimeMs ?? MEDIA_TOKEN_TTL_MS;
  if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) {
    throw new RangeError('lifetimeMs must be a positive number of ms');
  }
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
        mediaTokenExpiresAt: new Date(now.getTime() + lifetimeMs),
        updatedAt: now,
      })
      .where(eq(calls.id, callId));
    return token;
  });
}
