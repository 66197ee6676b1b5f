// GET /api/v1/recordings/:callId?expires=…&signature=…[&channels=mixed]: a call's recording for whoever
// holds the signed, expiring link an end-of-call webhook carried, served as the call history serves it
// (byte ranges, stereo or mixed). The link is the only authorisation, so it is mounted beside the API
// (the server's instance secret signs it) rather than behind a session or key.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Id, RecordingQuery } from '@parley/contracts';
import { findLinkedRecording, ServiceError, type RecordingLinks, type ServiceDeps } from '@parley/services';
import { z } from 'zod';
import { sendRecording } from './recording-response.js';

export interface RecordingLinkEnv {
  deps: ServiceDeps;
  links: RecordingLinks;
}

// `expires` and `signature` are checked by the link verifier, which refuses anything malformed with the
// same 403 as a wrong signature; `channels` is not signed, so a link serves either view.
const LinkQuery = z.object({
  expires: z.unknown().optional(),
  signature: z.unknown().optional(),
  channels: RecordingQuery.shape.channels,
});

export async function recordingLinkRoutes(app: FastifyInstance, env: RecordingLinkEnv): Promise<void> {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/api/v1/recordings/:callId',
      { schema: { hide: true, params: z.object({ callId: z.string() }), querystring: LinkQuery } },
      async (request, reply) => {
        const { callId } = request.params;
        if (!Id.safeParse(callId).success) {
          throw new ServiceError('forbidden', 'This recording link is invalid or has expired');
        }
        const { expires, signature, channels } = request.query;
        const file = await findLinkedRecording(
          env.deps.db,
          env.links,
          { callId, expires, signature },
          channels,
          env.deps.now?.() ?? new Date(),
        );
        return sendRecording(request, reply, file);
      },
    );
}
