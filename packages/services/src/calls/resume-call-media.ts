// A carrier reconnected the media stream of a call a runtime is already carrying: Twilio can play
// keypad tones only by replacing the call's TwiML, which ends the agent's stream and then connects a
// new one with a fresh token (issueMediaToken). The token is checked as a first claim's is (hash,
// expiry, carrier, single use), but only an in-progress call carried by the same runtime resumes: the
// new socket joins the session already running there, it never starts another. Only a carrier's own
// route resumes (the simulated media socket never does), so a simulated call never resumes.
import { and, calls, eq, type Database } from '@parley/db';
import { ServiceError } from '../errors.js';
import { constantTimeEqual, hashToken } from '../secret-box.js';

export async function resumeCallMedia(
  db: Database,
  resume: { callId: string; mediaToken: string; carrier: string; runtimeId: string },
  now: Date,
): Promise<void> {
  // One message for every refusal, as for a first claim: a guesser learns nothing.
  const refused = () => new ServiceError('forbidden', 'This media stream is not authorised for a call');
  await db.transaction(async (tx) => {
    const [call] = await tx.select().from(calls).where(eq(calls.id, resume.callId)).for('update');
    if (
      !call ||
      call.transport !== resume.carrier ||
      call.simulation !== null ||
      call.status !== 'in_progress' ||
      call.runtimeId !== resume.runtimeId ||
      !call.mediaTokenHash ||
      !constantTimeEqual(call.mediaTokenHash, hashToken(resume.mediaToken)) ||
      !call.mediaTokenExpiresAt ||
      call.mediaTokenExpiresAt.getTime() < now.getTime()
    ) {
      throw refused();
    }
    await tx
      .update(calls)
      .set({ mediaTokenHash: null, mediaTokenExpiresAt: null, updatedAt: now })
      .where(and(eq(calls.id, call.id), eq(calls.runtimeId, resume.runtimeId)));
  });
}
