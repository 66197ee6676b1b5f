// Telnyx Call Control v2 (reference/wire-protocols.md §4): dialling with the media stream attached,
// answering inbound calls the same way, hanging up, cold transfer and DTMF. JSON over
// `{baseUrl}/v2/calls…` with a Bearer API key. Telnyx answers errors as
// `{"errors": [{"code": "90018", "title": …, "detail": …}]}`; we keep the code, never the text.
import type {
  CallControlCapabilities,
  CarrierCallControl,
  CreateCallRequest,
  TelephonyErrorCode,
} from '../carrier.js';
import { TelephonyError } from '../carrier.js';
import { telnyxStreamingParams } from './webhook.js';
import type { TelnyxStreamingOptions } from './webhook.js';

export interface TelnyxCallControlOptions {
  apiKey: string;
  /** The Call Control Application (connection) id calls are placed with. */
  connectionId: string;
  /** Default `https://api.telnyx.com`. */
  baseUrl?: string;
  /** Codec, sampling rate and streaming auth token for every stream we attach. */
  streaming?: Omit<TelnyxStreamingOptions, 'clientState'>;
  /** Gives up on a request after this long (a `network` error). Default 10 s. */
  timeoutMs?: number;
  /** For tests; default globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface TelnyxAnswerOptions {
  /** Our media WebSocket URL for this call. */
  streamUrl: string;
  /** Per-call parameters, echoed in the stream's `start` and every later webhook. */
  clientState?: Record<string, string>;
  /** Where this call's later webhooks go, if not the application's webhook URL. */
  webhookUrl?: string;
}

const DEFAULT_BASE_URL = 'https://api.telnyx.com';
const DEFAULT_TIMEOUT_MS = 10_000;
/** Telnyx's "call has already ended": hanging up such a call is already done. */
const CALL_ALREADY_ENDED = '90018';
/** Digits, A-D, * and #, plus Telnyx's pauses (w = 0.5 s, W = 1 s). */
const DTMF_DIGITS = /^[0-9A-D*#wW]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstErrorCode(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const errors = isRecord(parsed) ? parsed['errors'] : undefined;
    const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
    const code = isRecord(first) ? first['code'] : undefined;
    return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
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

/** The query parameters of our media URL, which we also send as client_state (see webhook.ts). */
function queryParametersOf(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url).searchParams);
}

export class TelnyxCallControl implements CarrierCallControl {
  readonly carrier = 'telnyx' as const;
  readonly capabilities: CallControlCapabilities = {
    outbound: true,
    hangUp: true,
    transfer: true,
    sendDtmf: true,
    machineDetection: true,
  };

  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: TelnyxCallControlOptions) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Dials with the media stream attached. Call Control has no answer document: `request.answerUrl` is
   * the media WebSocket URL (`wss://…`) itself, and its query parameters are also sent as client_state.
   * Webhooks for the call go to `request.statusCallbackUrl`.
   */
  async createCall(request: CreateCallRequest): Promise<{ carrierCallId: string }> {
    const streaming = this.streamingParams(
      'createCall',
      request.answerUrl,
      queryParametersOf(request.answerUrl),
    );
    const body: Record<string, unknown> = {
      connection_id: this.options.connectionId,
      to: request.to,
      from: request.from,
      webhook_url: request.statusCallbackUrl,
      webhook_url_method: 'POST',
      ...streaming,
    };
    if (request.ringTimeoutSeconds !== undefined)
      body['timeout_secs'] = Math.round(request.ringTimeoutSeconds);
    // `greeting_end` reports human or machine (call.machine.detection.ended) and then, for a machine,
    // when its greeting is over (call.machine.greeting.ended, on a beep or the silence after it), so a
    // message left then is recorded whole. `detect_beep` would say nothing for a greeting without a beep.
    if (request.machineDetection) body['answering_machine_detection'] = 'greeting_end';
    const response = await this.post('createCall', '/v2/calls', body);
    const data = isRecord(response) ? response['data'] : undefined;
    const callControlId = isRecord(data) ? data['call_control_id'] : undefined;
    if (typeof callControlId !== 'string' || callControlId === '') {
      throw new TelephonyError(
        'telnyx',
        'carrier_error',
        'Telnyx createCall: the response has no call_control_id',
      );
    }
    return { carrierCallId: callControlId };
  }

  /** Answers an inbound call (after its `call.initiated` webhook) with the media stream attached. */
  async answer(callControlId: string, options: TelnyxAnswerOptions): Promise<void> {
    const body: Record<string, unknown> = {
      ...this.streamingParams('answer', options.streamUrl, {
        ...queryParametersOf(options.streamUrl),
        ...options.clientState,
      }),
    };
    if (options.webhookUrl !== undefined) body['webhook_url'] = options.webhookUrl;
    await this.action('answer', callControlId, 'answer', body);
  }

  /** Hangs up; a call that has already ended counts as hung up. */
  async hangUp(callControlId: string): Promise<void> {
    try {
      await this.action('hangUp', callControlId, 'hangup', {});
    } catch (error) {
      if (error instanceof TelephonyError && error.details.carrierCode === CALL_ALREADY_ENDED) return;
      throw error;
    }
  }

  /** Cold transfer: Telnyx dials `to` and bridges the caller to it; the agent's leg leaves the call. */
  async transfer(callControlId: string, to: string): Promise<void> {
    await this.action('transfer', callControlId, 'transfer', { to });
  }

  async sendDtmf(callControlId: string, digits: string): Promise<void> {
    if (!DTMF_DIGITS.test(digits)) {
      throw new TelephonyError(
        'telnyx',
        'invalid_request',
        'Telnyx sendDtmf: digits may hold only 0-9, A-D, *, #, w and W',
      );
    }
    await this.action('sendDtmf', callControlId, 'send_dtmf', { digits });
  }

  private streamingParams(
    operation: string,
    streamUrl: string,
    clientState: Record<string, string>,
  ): Record<string, unknown> {
    try {
      return telnyxStreamingParams(streamUrl, { ...this.options.streaming, clientState });
    } catch {
      throw new TelephonyError(
        'telnyx',
        'invalid_request',
        `Telnyx ${operation}: the stream URL must be a ws:// or wss:// URL (Call Control streams the call to it)`,
      );
    }
  }

  private action(operation: string, callControlId: string, action: string, body: object): Promise<unknown> {
    return this.post(operation, `/v2/calls/${encodeURIComponent(callControlId)}/actions/${action}`, body);
  }

  /** POSTs JSON; returns the parsed body of a 2xx answer, throws a TelephonyError otherwise. */
  private async post(operation: string, path: string, body: object): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new TelephonyError(
        'telnyx',
        'network',
        `Telnyx ${operation}: ${timedOut ? 'no answer in time' : 'could not reach the API'}`,
      );
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      const carrierCode = firstErrorCode(text);
      // The message names the status and Telnyx's code only: its detail text can quote numbers.
      throw new TelephonyError(
        'telnyx',
        codeForStatus(response.status),
        `Telnyx ${operation} failed: HTTP ${response.status}${carrierCode !== undefined ? ` (code ${carrierCode})` : ''}`,
        { httpStatus: response.status, ...(carrierCode !== undefined ? { carrierCode } : {}) },
      );
    }
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new TelephonyError('telnyx', 'carrier_error', `Telnyx ${operation}: the response is not JSON`);
    }
  }
}
