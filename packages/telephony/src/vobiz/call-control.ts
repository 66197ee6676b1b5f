// Vobiz's Call API as CarrierCallControl: Plivo's API (plivo/call-control.ts) under
// https://api.vobiz.ai/api/v1 with `X-Auth-ID` / `X-Auth-Token` headers instead of Basic auth
// (wire-protocols.md §3.2; docs.vobiz.ai/call/make-call). Its request_uuid is the call uuid, so a
// ringing call is hung up like an answered one. Paths are case-sensitive and keep their trailing slash.
import { PlivoFamilyCallControl } from '../plivo/call-control.js';
import type { PlivoApiFlavour, PlivoCallControlOptions } from '../plivo/call-control.js';

export const VOBIZ_API_FLAVOUR: PlivoApiFlavour = {
  carrier: 'vobiz',
  label: 'Vobiz',
  defaultBaseUrl: 'https://api.vobiz.ai/api/v1',
  authHeaders: (authId, authToken) => ({ 'X-Auth-ID': authId, 'X-Auth-Token': authToken }),
  // Vobiz's examples send the destination with its +; E.164 goes through unchanged.
  formatNumber: (e164) => e164,
  cancelsRingingByRequest: false,
};

export type VobizCallControlOptions = PlivoCallControlOptions;

/** Vobiz's Call API (`baseUrl` defaults to https://api.vobiz.ai/api/v1). */
export class VobizCallControl extends PlivoFamilyCallControl {
  constructor(options: VobizCallControlOptions) {
    super(VOBIZ_API_FLAVOUR, options);
  }
}
