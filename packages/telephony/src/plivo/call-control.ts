// Plivo's Call API (wire-protocols.md §3.1; plivo-node `resources/call.js`) as CarrierCallControl:
// place a call, hang up, cold-transfer (point the live call at a document that dials the target),
// send DTMF. Vobiz clones the API under another base URL and auth headers (vobiz/call-control.ts), so
// the requests are built here for both from a small flavour description.
//
// Status callbacks: Plivo has no single status callback; the one URL we are given receives the ring,
// hangup and machine-detection callbacks, told apart by their fields (parsePlivoStatusCallback).
import type {
  CallControlCapabilities,
  CarrierCallControl,
  CarrierId,
  CreateCallRequest,
  TelephonyErrorCode,
} from '../carrier.js';
import { TelephonyError } from '../carrier.js';

export interface PlivoCallControlOptions {
  authId: string;
  authToken: string;
  /** API root including the version (default https://api.plivo.com/v1); tests use the simulator's. */
  baseUrl?: string;
  /**
   * Where the call goes on a cold transfer: a URL on our server that answers with a document dialling
   * `to` (buildPlivoDialDocument). The transfer API can only point a call at a URL; without this,
   * transfer is unsupported.
   */
  transferDocumentUrl?: (to: string, carrierCallId: string) => string;
  /** Per request; default 10 s. */
  requestTimeoutMs?: number;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
}

/** What differs between Plivo and its clones on the REST side. */
export interface PlivoApiFlavour {
  carrier: Extract<CarrierId, 'plivo' | 'vobiz'>;
  label: string;
  defaultBaseUrl: string;
  authHeaders(authId: string, authToken: string): Record<string, string>;
  /** Numbers as the API wants them, from E.164. */
  formatNumber(e164: string): string;
  /**
   * Plivo's createCall returns a request uuid that names the call only once answered; a ringing call
   * is cancelled through `DELETE /Request/{uuid}/` instead.
   */
  cancelsRingingByRequest: boolean;
}

export const PLIVO_API_FLAVOUR: PlivoApiFlavour = {
  carrier: 'plivo',
  label: 'Plivo',
  defaultBaseUrl: 'https://api.plivo.com/v1',
  authHeaders: (authId, authToken) => ({
    Authorization: `Basic ${Buffer.from(`${authId}:${authToken}`).toString('base64')}`,
  }),
  // plivo-node documents numbers as country code and number "without the + sign".
  formatNumber: (e164) => e164.replace(/^\+/, ''),
  cancelsRingingByRequest: true,
};

const E164 = /^\+[1-9][0-9]{6,14}$/;
/** Digits plus Plivo's pauses: `w` waits 0.5 s, `W` 1 s. */
const DTMF_DIGITS = /^[0-9*#A-DwW]+$/;
const DEFAULT_TIMEOUT_MS = 10_000;

function codeForStatus(status: number): TelephonyErrorCode {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'carrier_error';
  // 400, 402 (insufficient balance), 405, 422 …: the request as sent will not succeed.
  return 'invalid_request';
}

export class PlivoFamilyCallControl implements CarrierCallControl {
  readonly carrier: Extract<CarrierId, 'plivo' | 'vobiz'>;
  readonly capabilities: CallControlCapabilities;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(
    private readonly flavour: PlivoApiFlavour,
    private readonly options: PlivoCallControlOptions,
  ) {
    if (!options.authId || !options.authToken) {
      throw new TelephonyError(
        flavour.carrier,
        'auth',
        `${flavour.label} call control needs authId and authToken`,
      );
    }
    this.carrier = flavour.carrier;
    this.baseUrl = (options.baseUrl ?? flavour.defaultBaseUrl).replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
    this.capabilities = {
      outbound: true,
      hangUp: true,
      transfer: options.transferDocumentUrl !== undefined,
      sendDtmf: true,
      machineDetection: true,
    };
  }

  async createCall(request: CreateCallRequest): Promise<{ carrierCallId: string }> {
    const operation = 'createCall';
    this.checkNumber(operation, 'to', request.to);
    this.checkNumber(operation, 'from', request.from);
    const { ringTimeoutSeconds } = request;
    if (
      ringTimeoutSeconds !== undefined &&
      !(Number.isInteger(ringTimeoutSeconds) && ringTimeoutSeconds > 0)
    ) {
      throw this.error(operation, 'invalid_request', 'ringTimeoutSeconds must be a positive integer');
    }
    const body: Record<string, string | number> = {
      from: this.flavour.formatNumber(request.from),
      to: this.flavour.formatNumber(request.to),
      answer_url: request.answerUrl,
      answer_method: 'POST',
      ring_url: request.statusCallbackUrl,
      ring_method: 'POST',
      hangup_url: request.statusCallbackUrl,
      hangup_method: 'POST',
    };
    if (ringTimeoutSeconds !== undefined) body['ring_timeout'] = ringTimeoutSeconds;
    if (request.machineDetection) {
      // Asynchronous: the call proceeds and the result is posted to machine_detection_url.
      body['machine_detection'] = 'true';
      body['machine_detection_url'] = request.statusCallbackUrl;
      body['machine_detection_method'] = 'POST';
    }
    const response = await this.request(operation, 'POST', 'Call/', body);
    const requestUuid = (response as { request_uuid?: unknown } | null)?.request_uuid;
    const carrierCallId = Array.isArray(requestUuid) ? requestUuid[0] : requestUuid;
    if (typeof carrierCallId !== 'string' || carrierCallId === '') {
      throw this.error(operation, 'carrier_error', 'response has no request_uuid');
    }
    return { carrierCallId };
  }

  /** Ends the call; a call that is already gone counts as hung up. */
  async hangUp(carrierCallId: string): Promise<void> {
    const id = this.callId('hangUp', carrierCallId);
    try {
      await this.request('hangUp', 'DELETE', `Call/${id}/`);
      return;
    } catch (error) {
      if (!(error instanceof TelephonyError && error.code === 'not_found')) throw error;
    }
    if (!this.flavour.cancelsRingingByRequest) return;
    try {
      await this.request('hangUp', 'DELETE', `Request/${id}/`);
    } catch (error) {
      if (!(error instanceof TelephonyError && error.code === 'not_found')) throw error;
    }
  }

  async transfer(carrierCallId: string, to: string): Promise<void> {
    const operation = 'transfer';
    const documentUrl = this.options.transferDocumentUrl;
    if (!documentUrl) {
      throw this.error(
        operation,
        'unsupported',
        'transfer needs the transferDocumentUrl option: the API can only point a call at a URL serving the dial document',
      );
    }
    this.checkNumber(operation, 'to', to);
    const id = this.callId(operation, carrierCallId);
    await this.request(operation, 'POST', `Call/${id}/`, {
      legs: 'aleg',
      aleg_url: documentUrl(to, carrierCallId),
      aleg_method: 'POST',
    });
  }

  async sendDtmf(carrierCallId: string, digits: string): Promise<void> {
    const operation = 'sendDtmf';
    if (!DTMF_DIGITS.test(digits)) {
      throw this.error(operation, 'invalid_request', 'digits must be 0-9, *, #, A-D (w/W to pause)');
    }
    const id = this.callId(operation, carrierCallId);
    await this.request(operation, 'POST', `Call/${id}/DTMF/`, { digits, leg: 'aleg' });
  }

  private checkNumber(operation: string, field: string, value: string): void {
    // The message names the field, never the number.
    if (!E164.test(value)) throw this.error(operation, 'invalid_request', `${field} must be an E.164 number`);
  }

  private callId(operation: string, carrierCallId: string): string {
    if (!carrierCallId) throw this.error(operation, 'invalid_request', 'carrierCallId is empty');
    return encodeURIComponent(carrierCallId);
  }

  private error(
    operation: string,
    code: TelephonyErrorCode,
    detail: string,
    details: TelephonyError['details'] = {},
  ): TelephonyError {
    return new TelephonyError(this.carrier, code, `${this.flavour.label} ${operation}: ${detail}`, details);
  }

  /** One API request; resolves with the parsed JSON body (null when empty), or throws TelephonyError. */
  private async request(
    operation: string,
    method: 'POST' | 'DELETE',
    path: string,
    body?: Record<string, string | number>,
  ): Promise<unknown> {
    const url = `${this.baseUrl}/Account/${encodeURIComponent(this.options.authId)}/${path}`;
    const headers: Record<string, string> = {
      ...this.flavour.authHeaders(this.options.authId, this.options.authToken),
      Accept: 'application/json',
    };
    if (body) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      // The cause's message can hold the URL (with the account id) but never the token.
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw this.error(
        operation,
        'network',
        timedOut ? 'no answer in time' : 'request failed to reach the API',
      );
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      // The body is not quoted: carriers echo request fields (numbers) in their error text.
      throw this.error(operation, codeForStatus(response.status), `HTTP ${response.status}`, {
        httpStatus: response.status,
      });
    }
    if (!text) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.error(operation, 'carrier_error', `HTTP ${response.status} with a body that is not JSON`, {
        httpStatus: response.status,
      });
    }
  }
}

/** Plivo's Call API. */
export class PlivoCallControl extends PlivoFamilyCallControl {
  constructor(options: PlivoCallControlOptions) {
    super(PLIVO_API_FLAVOUR, options);
  }
}
