// The recording of one call of the organization, ready to serve whole or by byte range, stereo as
// recorded or mixed down to one channel.
import type { RecordingQuery } from '@parley/contracts';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { findCall } from './call-row.js';
import { recordingBytes, type RecordingBytes } from './recording-audio.js';

export interface CallRecordingFile extends RecordingBytes {
  /** A download name with no personal data in it: the call id. */
  fileName: string;
}

const notFound = () => new ServiceError('recording_not_found', 'This call has no stored recording');

export async function openCallRecording(
  ctx: OrgContext,
  callId: string,
  channels: RecordingQuery['channels'],
): Promise<CallRecordingFile> {
  authorize(ctx, 'calls:read');
  return openRecordingFile(await findCall(ctx.db, ctx.organizationId, callId), channels);
}

/**
 * A call's stored recording, once the caller has decided who may read it (a member of the organization,
 * or the holder of a signed link): the one place that turns a call row into bytes to serve.
 */
export async function openRecordingFile(
  call: { id: string; recordingPath: string | null },
  channels: RecordingQuery['channels'],
): Promise<CallRecordingFile> {
  if (!call.recordingPath) throw notFound();
  try {
    const bytes = await recordingBytes(call.recordingPath, channels);
    return { ...bytes, fileName: `${call.id}${channels === 'mixed' ? '-mixed' : ''}.wav` };
  } catch (error) {
    // Its file is gone (erased, or the disk was cleaned): there is nothing to serve.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound();
    throw error;
  }
}
