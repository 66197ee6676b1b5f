// Mounts the carriers' webhooks and media sockets on the server. Carriers post forms (and some JSON
// that must be verified byte for byte), so this scope reads those bodies itself; the REST API's JSON-only
// rule stays untouched outside it.
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { TelephonyEnv } from './telephony-env.js';
import { twilioRoutes } from './twilio-routes.js';
import { plivoRoutes } from './plivo-routes.js';
import { vobizRoutes } from './vobiz-routes.js';
import { exotelRoutes } from './exotel-routes.js';
import { telnyxRoutes } from './telnyx-routes.js';

/** Largest media message accepted from a carrier (a second of 48 kHz PCM16 in base64 JSON is ≈ 130 KB). */
const MAX_MEDIA_MESSAGE_BYTES = 256 * 1024;

export async function registerTelephony(app: FastifyInstance, env: TelephonyEnv): Promise<void> {
  // buildApp registers it for the whole server; registering twice would route every upgrade twice.
  if (!app.hasDecorator('websocketServer')) {
    await app.register(websocket, { options: { maxPayload: MAX_MEDIA_MESSAGE_BYTES } });
  }
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
    twilioRoutes(scope, env);
    plivoRoutes(scope, env);
    vobizRoutes(scope, env);
    exotelRoutes(scope, env);
    telnyxRoutes(scope, env);
  });
}
