// GET /api/v1/recordings/:callId?expires=…&signature=…: a call's recording for whoever holds the signed,
// expiring link an end-of-call webhook carried. The link is the only authorisation, so it is mounted
// beside the API (the server's instance secret signs it) rather than behind a session or key.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { Id } from '@parley/contracts';
import { findLinkedRecording, ServiceError, type RecordingLinks, type ServiceDeps } from '@parley/services';

export interface RecordingLinkEnv {
  deps: ServiceDeps;
  links: RecordingLinks;
}

export async function recordingLinkRoutes(app: FastifyInstance, env: RecordingLinkEnv): Promise<void> {
  app.get<{ Params: { callId: string }; Querystring: Record<string, unknown> }>(
    '/api/v1/recordings/:callId',
    { schema: { hide: true } },
    async (request, reply) => {
      const { callId } = request.params;
      if (!Id.safeParse(callId).success) {
        throw new ServiceError('forbidden', 'This recording link is invalid or has expired');
      }
      const now = env.deps.now?.() ?? new Date();
      const { path } = await findLinkedRecording(
        env.deps.db,
        env.links,
        { callId, expires: request.query.expires, signature: request.query.signature },
        now,
      );
      const size = await stat(path).then(
        (info) => info.size,
        () => null,
      );
      if (size === null) throw new ServiceError('not_found', 'This call’s recording is not on this server');
      return reply
        .header('content-type', 'audio/wav')
        .header('content-length', size)
        .header('cache-control', 'private, no-store')
        .send(createReadStream(path));
    },
  );
}
