// GET /api/v1/calls/:id/listen: supervisor listen, a WebSocket streaming a live call's audio (both
// legs, stereo) to an authorised user or key. Who may listen is decided before the upgrade, so a
// refusal is an ordinary HTTP error (401/403/404/409); once upgraded, the stream is served by
// streamCallAudio (wire format in docs/api.md). A plain GET answers the same checks, then 426.
import { IdParams } from '@parley/contracts';
import {
  checkCallListen,
  ServiceError,
  startCallListen,
  type CallListenTarget,
  type OrgContext,
} from '@parley/services';
import type { FastifyRequest } from 'fastify';
import { LISTEN_CLOSE, streamCallAudio } from '../../../live/call-audio-stream.js';
import { assertCookieUpgradeFromThisInstance, organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

/** The call each upgrading request was allowed to hear, from its pre-handler to its socket. */
const allowed = new WeakMap<FastifyRequest, CallListenTarget & { ctx: OrgContext }>();

/** Whether the call is still in progress on the same runtime (asked when its stream goes silent). */
async function stillLive(ctx: OrgContext, target: CallListenTarget): Promise<boolean> {
  try {
    return (await checkCallListen(ctx, target.callId)).runtimeId === target.runtimeId;
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'call_not_live') return false;
    throw error;
  }
}

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
      assertCookieUpgradeFromThisInstance(deps, request);
      allowed.set(request, { ...(await startCallListen(ctx, id)), ctx });
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
      const { ctx, ...call } = target;
      void streamCallAudio(socket, call, {
        ...liveAudio,
        logger: request.log,
        stillLive: () => stillLive(ctx, call),
      });
    },
  });
};
