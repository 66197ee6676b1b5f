// Mounts the carriers' webhooks and media sockets on the server. Carriers post forms (and some JSON
// that must be verified byte for byte), so this scope reads those bodies itself; the REST API's JSON-only
// rule stays untouched outside it.
import type { FastifyInstance } from 'fastify';
import type { TelephonyEnv } from './telephony-env.js';
import { twilioRoutes } from './twilio-routes.js';
import { plivoRoutes } from './plivo-routes.js';
import { vobizRoutes } from './vobiz-routes.js';
import { exotelRoutes } from './exotel-routes.js';
import { telnyxRoutes } from './telnyx-routes.js';

/** On an app from buildApp, which registers the WebSocket plugin (and its message limit) for the server. */
export async function registerTelephony(app: FastifyInstance, env: TelephonyEnv): Promise<void> {
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
