// GET /api/v1/calls/:id/listen: supervisor listen, a WebSocket streaming a live call's audio (both
// legs, stereo) to an authorised user or key. Who may listen is decided before the upgrade, so a
// refusal is an ordinary HTTP error (401/403/404/409); once upgraded, the stream is served by
// streamCallAudio (wire format in docs/api.md). A plain GET answers the same checks, then 426.
import { IdParams } from '@parley/contracts';
import { checkCallListen, ServiceError, startCallListen, type CallListenTarget } from '@parley/services';
import type { FastifyRequest } from 'fastify';
import { LISTEN_CLOSE, streamCallAudio } from '../../../live/call-audio-stream.js';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

/** The call each upgrading request was allowed to hear, from its pre-handler to its socket. */
const allowed = new WeakMap<FastifyRequest, CallListenTarget>();

export const callListenRoutes: RouteModule = (app, { deps, liveAudio }) => {
  app.route({
    method: 'GET',
    url: '/calls/:id/listen',
    schema: {
      tags: ['calls'],
      summary:
        'WebSocket: listen to a live call — a JSON `start`, binary stereo PCM16 chunks (caller left, agent right), a JSON `end`',
      params: IdParams,
    },
    preHandler: async (request) => {
      const { id } = request.params as { id: string };
      const ctx = await organizationContext(deps, request);
      if (!request.ws) {
        await checkCallListen(ctx, id);
        return;
      }
      // A page of another site must not open a listening socket with a signed-in user's cookie.
      const origin = request.headers.origin;
      if (request.csrfToken !== null && origin !== undefined && origin !== new URL(deps.publicUrl).origin) {
        throw new ServiceError(
          'forbidden',
          'Listening with a session cookie is allowed from this instance only',
        );
      }
      allowed.set(request, await startCallListen(ctx, id));
    },
    handler: async () => {
      throw new ServiceError('websocket_required', 'Open this route with a WebSocket client');
    },
    wsHandler: (socket, request) => {
      const target = allowed.get(request);
      if (!target || !liveAudio) {
        socket.close(LISTEN_CLOSE.unavailable, 'live audio is unavailable on this server');
        return;
      }
      void streamCallAudio(socket, target, { ...liveAudio, logger: request.log });
    },
  });
};
