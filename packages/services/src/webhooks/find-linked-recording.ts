import { calls, eq, type Database } from '@parley/db';
import { ServiceError } from '../errors.js';
import type { RecordingLinks } from './recording-links.js';

/**
 * The recording file a signed link points to. The link is the authorisation (no session, no key), so
 * any failure is the same 403: a guesser learns nothing about which calls exist.
 */
export async function findLinkedRecording(
  db: Database,
  links: RecordingLinks,
  link: { callId: string; expires: unknown; signature: unknown },
  now: Date,
): Promise<{ path: string }> {
  const refused = () => new ServiceError('forbidden', 'This recording link is invalid or has expired');
  if (!links.verify(link.callId, link.expires, link.signature, now)) throw refused();
  const [call] = await db
    .select({ recordingPath: calls.recordingPath })
    .from(calls)
    .where(eq(calls.id, link.callId));
  if (!call?.recordingPath) throw new ServiceError('not_found', 'This call has no recording');
  return { path: call.recordingPath };
}
