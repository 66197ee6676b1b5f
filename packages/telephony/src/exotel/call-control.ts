// Exotel's REST side (reference/wire-protocols.md §2): placing a call with the Connect Voice AI API,
// which dials the number and, once it answers, opens a bidirectional AgentStream to our media URL — no
// App Bazaar flow needed. `POST {baseUrl}/v1/Accounts/{sid}/Calls/connect`, HTTP Basic (API key and
// token), form fields.
//
// What Exotel's v1 API cannot do throws TelephonyError('unsupported'): there is no REST hang-up,
// transfer or DTMF for a call in progress (end the call by closing its media stream), and no answering
// machine detection (a `machineDetection` request is ignored, as the capabilities say).
//
// The parameter names follow Exotel's launch post for the API (`From`, `CallerId`, `StreamUrl`,
// `StreamType`, the classic API's `StatusCallback`…); the developer guide spells them in lower case.
import type {
  CallControlCapabilities,
  CarrierCallControl,
  CreateCallRequest,
  TelephonyErrorCode,
} from '../carrier.js';
import { TelephonyError } from '../carrier.js';

export interface ExotelCallControlOptions {
  accountSid: string;
  apiKey: string;
  apiToken: string;
  /** `https://api.exotel.com` (Singapore, the default) or `https://api.in.exotel.com` (Mumbai). */
  baseUrl?: string;
  /** Gives up on a request after this long (a `network` error). Default 10 s. */
  timeoutMs?: number;
  /** For tests; default globalThis.fetch. */
  fetch?: typeof fetch;
}

const DEFAULT_BASE_URL = 'https://api.exotel.com';
const DEFAULT_TIMEOUT_MS = 10_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field of an object whose key Exotel spells in either case (`call.sid` or `Call.Sid`). */
function fieldOf(record: Record<string, unknown>, key: string): unknown {
  const found = Object.keys(record).find((candidate) => candidate.toLowerCase() === key);
  return found === undefined ? undefined : record[found];
}

/** The call's Sid from a JSON (`{"call": {"sid"}}`) or, from the classic API, XML (`<Sid>`) response. */
function callSidOf(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    const call = isRecord(parsed) ? fieldOf(parsed, 'call') : undefined;
    const sid = isRecord(call) ? fieldOf(call, 'sid') : undefined;
    return typeof sid === 'string' && sid !== '' ? sid : null;
  } catch {
    const match = /<Sid>\s*([^<\s]+)\s*<\/Sid>/.exec(body);
    return match ? match[1]! : null;
  }
}

/** Exotel's error code, if its body has one (`{"RestException": {"Code": …}}`); never its message text. */
function carrierCodeOf(body: string): string | number | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const exception = isRecord(parsed) ? fieldOf(parsed, 'restexception') : undefined;
    const code = isRecord(exception) ? fieldOf(exception, 'code') : undefined;
    return typeof code === 'string' || typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

function codeForStatus(status: number): TelephonyErrorCode {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'carrier_error';
  return 'invalid_request';
}

export class ExotelCallControl implements CarrierCallControl {
  readonly carrier = 'exotel' as const;
  readonly capabilities: CallControlCapabilities = {
    outbound: true,
    hangUp: false,
    transfer: false,
    sendDtmf: false,
    machineDetection: false,
  };

  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ExotelCallControlOptions) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${options.apiKey}:${options.apiToken}`).toString('base64')}`;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Dials `request.to` from the ExoPhone `request.from` and streams the answered call to
   * `request.answerUrl`, which for Exotel must be the media WebSocket URL itself (`wss://…`, at most
   * 600 characters; build it with buildExotelStreamUrl). Status callbacks: ringing, answered, terminal.
   */
  async createCall(request: CreateCallRequest): Promise<{ carrierCallId: string }> {
    if (!/^wss?:\/\//i.test(request.answerUrl)) {
      throw new TelephonyError(
        'exotel',
        'invalid_request',
        'Exotel createCall: answerUrl must be the ws:// or wss:// media URL (Exotel streams the call to it directly)',
      );
    }
    const form = new URLSearchParams({
      From: request.to,
      CallerId: request.from,
      StreamUrl: request.answerUrl,
      StreamType: 'bidirectional',
      StatusCallback: request.statusCallbackUrl,
    });
    for (const event of ['ringing', 'answered', 'terminal']) form.append('StatusCallbackEvents[]', event);
    if (request.ringTimeoutSeconds !== undefined)
      form.set('TimeOut', String(Math.round(request.ringTimeoutSeconds)));
    const path = `/v1/Accounts/${encodeURIComponent(this.options.accountSid)}/Calls/connect`;
    const body = await this.post('createCall', path, form);
    const carrierCallId = callSidOf(body);
    if (!carrierCallId) {
      throw new TelephonyError('exotel', 'carrier_error', 'Exotel createCall: the response has no call Sid');
    }
    return { carrierCallId };
  }

  hangUp(_carrierCallId: string): Promise<void> {
    return Promise.reject(
      new TelephonyError(
        'exotel',
        'unsupported',
        'Exotel hangUp: Exotel has no REST hang-up for a call in progress; close its media stream instead',
      ),
    );
  }

  transfer(_carrierCallId: string, _to: string): Promise<void> {
    return Promise.reject(
      new TelephonyError(
        'exotel',
        'unsupported',
        'Exotel transfer: Exotel cannot transfer a streaming call by API; use a Connect applet after the Voicebot applet',
      ),
    );
  }

  sendDtmf(_carrierCallId: string, _digits: string): Promise<void> {
    return Promise.reject(
      new TelephonyError(
        'exotel',
        'unsupported',
        'Exotel sendDtmf: Exotel cannot send DTMF into a call by API',
      ),
    );
  }

  /** POSTs a form; returns the body of a 2xx answer, throws a TelephonyError otherwise. */
  private async post(operation: string, path: string, form: URLSearchParams): Promise<string> {
    let response: Response;
    try {
      response = await this.fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new TelephonyError(
        'exotel',
        'network',
        `Exotel ${operation}: ${timedOut ? 'no answer in time' : 'could not reach the API'}`,
      );
    }
    const body = await response.text().catch(() => '');
    if (response.ok) return body;
    const carrierCode = carrierCodeOf(body);
    // The message names the status and Exotel's code only: Exotel's own text can quote phone numbers.
    throw new TelephonyError(
      'exotel',
      codeForStatus(response.status),
      `Exotel ${operation} failed: HTTP ${response.status}${carrierCode !== undefined ? ` (code ${carrierCode})` : ''}`,
      { httpStatus: response.status, ...(carrierCode !== undefined ? { carrierCode } : {}) },
    );
  }
}
