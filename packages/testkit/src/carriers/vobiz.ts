// Vobiz simulated (reference/wire-protocols.md §3.2): the Plivo simulators of plivo.ts with Vobiz's
// differences — the API under /api/v1 behind X-Auth-ID / X-Auth-Token headers, "Call fired", the
// request uuid being the call uuid, Event=Ring|StartApp|Hangup on callbacks, X-Vobiz-Signature-V2/V3
// over the URL without its query (POST fields unsigned), big-endian L16 on the media socket and a
// playedStream of just event and name.
import { createHmac, randomBytes } from 'node:crypto';
import { PlivoCaller, placePlivoFamilyInboundCall, startPlivoFamilyRestSimulator } from './plivo.js';
import type {
  PlivoCallerOptions,
  PlivoInboundCallOptions,
  PlivoInboundCallResult,
  PlivoRestSimulator,
  PlivoRestSimulatorOptions,
  PlivoSimulatorFlavour,
} from './plivo.js';

function nonce(): string {
  return BigInt(`0x${randomBytes(9).toString('hex')}`)
    .toString()
    .padStart(20, '0')
    .slice(-20);
}

/** X-Vobiz-Signature-V2/V3 headers (docs.vobiz.ai/concepts/validating-callbacks), fresh nonces. */
export function signVobizCallback(authToken: string, url: string): Record<string, string> {
  const base = url.replace(/[?#].*$/, '');
  const v2Nonce = nonce();
  const v3Nonce = nonce();
  const sign = (data: string): string => createHmac('sha256', authToken).update(data).digest('base64');
  return {
    'X-Vobiz-Signature-V2': sign(base + v2Nonce),
    'X-Vobiz-Signature-V2-Nonce': v2Nonce,
    'X-Vobiz-Signature-V3': sign(`${base}.${v3Nonce}`),
    'X-Vobiz-Signature-V3-Nonce': v3Nonce,
  };
}

export const VOBIZ_SIMULATOR_FLAVOUR: PlivoSimulatorFlavour = {
  carrier: 'vobiz',
  label: 'Vobiz',
  apiPrefix: '/api/v1',
  callFiredMessage: 'Call fired',
  isAuthorized: (request, authId, authToken) =>
    request.headers['x-auth-id'] === authId && request.headers['x-auth-token'] === authToken,
  sign: (authToken, url) => signVobizCallback(authToken, url),
  inboundL16BigEndian: true,
  requestUuidIsCallUuid: true,
  callbackEvents: true,
  playedStreamHasStreamId: false,
};

export type VobizRestSimulator = PlivoRestSimulator;

export function startVobizRestSimulator(
  options: PlivoRestSimulatorOptions = {},
): Promise<VobizRestSimulator> {
  return startPlivoFamilyRestSimulator(VOBIZ_SIMULATOR_FLAVOUR, options);
}

export function startVobizCaller(options: PlivoCallerOptions): Promise<PlivoCaller> {
  return PlivoCaller.connect(VOBIZ_SIMULATOR_FLAVOUR, options);
}

export function placeVobizInboundCall(options: PlivoInboundCallOptions): Promise<PlivoInboundCallResult> {
  return placePlivoFamilyInboundCall(VOBIZ_SIMULATOR_FLAVOUR, options);
}
