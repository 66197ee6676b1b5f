// Plivo's side of an inbound phone call: the answer webhook (answered with a bidirectional `<Stream>`),
// the hangup callback and the media socket, all in plivo-family-routes.ts. What is Plivo's own here is
// its X-Plivo-Signature-V3 (which covers the POST fields) and its media socket accepting μ-law only.
import {
  buildPlivoDialDocument,
  buildPlivoRejectDocument,
  buildPlivoStreamDocument,
  PlivoMediaTransport,
  verifyPlivoSignature,
} from '@parley/telephony';
import type { FastifyInstance } from 'fastify';
import { plivoFamilyRoutes, type PlivoFamilyCarrier } from './plivo-family-routes.js';
import type { TelephonyEnv } from './telephony-env.js';

const PLIVO: PlivoFamilyCarrier = {
  carrier: 'plivo',
  label: 'Plivo',
  streamDocument: buildPlivoStreamDocument,
  rejectDocument: buildPlivoRejectDocument,
  dialDocument: buildPlivoDialDocument,
  verifySignature: verifyPlivoSignature,
  acceptMedia: (socket, options) => PlivoMediaTransport.accept(socket, options),
};

export function plivoRoutes(app: FastifyInstance, env: TelephonyEnv): void {
  plivoFamilyRoutes(app, env, PLIVO);
}
