// Vobiz's side of an inbound phone call. Vobiz clones Plivo's XML, callbacks and media stream, so the
// routes are plivo-family-routes.ts; what is Vobiz's own is X-Vobiz-Signature-V3/V2, which signs only
// the URL (not the POST fields: the media token, not the body, is what the socket is trusted on).
import {
  buildVobizDialDocument,
  buildVobizRejectDocument,
  buildVobizStreamDocument,
  VobizMediaTransport,
  verifyVobizSignature,
} from '@parley/telephony';
import type { FastifyInstance } from 'fastify';
import { plivoFamilyRoutes, type PlivoFamilyCarrier } from './plivo-family-routes.js';
import type { TelephonyEnv } from './telephony-env.js';

const VOBIZ: PlivoFamilyCarrier = {
  carrier: 'vobiz',
  label: 'Vobiz',
  // No `maxRetries`: the media token is single-use, so a reconnect's fresh `start` would be refused.
  streamDocument: buildVobizStreamDocument,
  rejectDocument: buildVobizRejectDocument,
  dialDocument: buildVobizDialDocument,
  verifySignature: verifyVobizSignature,
  acceptMedia: (socket, options) => VobizMediaTransport.accept(socket, options),
};

export function vobizRoutes(app: FastifyInstance, env: TelephonyEnv): void {
  plivoFamilyRoutes(app, env, VOBIZ);
}
