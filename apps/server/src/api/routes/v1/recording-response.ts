// Answers a request for a call's recording, whoever authorised it (the call history or a signed link):
// the whole WAV (200), the one byte range the `Range` header asks for (206), or 416 when no byte of it
// exists. Both routes serve through here so they answer ranges and headers alike.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ServiceError, type CallRecordingFile } from '@parley/services';
import { byteRange } from './byte-range.js';

export function sendRecording(
  request: FastifyRequest,
  reply: FastifyReply,
  file: CallRecordingFile,
): FastifyReply {
  reply.header('accept-ranges', 'bytes');
  const range = byteRange(request.headers.range, file.sizeBytes);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${file.sizeBytes}`);
    throw new ServiceError('range_not_satisfiable', 'The requested range is outside the recording', {
      sizeBytes: file.sizeBytes,
    });
  }
  const { start, end } = range ?? { start: 0, end: file.sizeBytes - 1 };
  if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${file.sizeBytes}`);
  return (
    reply
      .header('content-type', 'audio/wav')
      .header('content-length', end - start + 1)
      .header('content-disposition', `inline; filename="${file.fileName}"`)
      // A recording is personal data: no shared cache keeps a copy.
      .header('cache-control', 'private, no-store')
      .send(Readable.from(file.read(start, end)))
  );
}
