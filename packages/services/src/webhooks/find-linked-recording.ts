import type { RecordingQuery } from '@parley/contracts';
import { calls, eq, type Database } from '@parley/db';
import { openRecordingFile, type CallRecordingFile } from '../calls/open-call-recording.js';
import { ServiceError } from '../errors.js';
import type { RecordingLinks } from './recording-links.js';

/**
 * The recording a signed link points to, opened as the call history serves it (stereo or mixed, any
 * byte range). The link is the authorisation (no session, no key), so any failure to verify it is the
 * same 403: a guesser learns nothing about which calls exist. The signature covers the call and the
 * expiry only, so the holder may pick `channels` freely: both views are of the same recording.
 */
export async function findLinkedRecording(
  db: Database,
  links: RecordingLinks,
  link: { callId: string; expires: unknown; signature: unknown },
  channels: RecordingQuery['channels'],
  now: Date,
): Promise<CallRecordingFile> {
  if (!links.verify(link.callId, link.expires, link.signature, now))
    throw new ServiceError('forbidden', 'This recording link is invalid or has expired');
  const [call] = await db
    .select({ id: calls.id, recordingPath: calls.recordingPath })
    .from(calls)
    .where(eq(calls.id, link.callId));
  return openRecordingFile(call ?? { id: link.callId, recordingPath: null }, channels);
}
