// Twilio's Calls REST API (reference/wire-protocols.md §1.4) as a CarrierCallControl: place a call,
// hang up, cold-transfer, send DTMF. Thin, over fetch: HTTP Basic with the account SID and auth token,
// form-encoded bodies, Twilio's JSON errors mapped onto TelephonyError without credentials, account
// SIDs or phone numbers in the message.
import { TelephonyError } from '../carrier.js';
import type {
  CallControlCapabilities,
  CarrierCallControl,
  CreateCallRequest,
  TelephonyErrorCode,
} from '../carrier.js';
import {
  dialNumberTwiml,
  isTwilioE164,
  isTwilioPlayableDtmf,
  playDigitsThenConnectTwiml,
} from './webhook.js';
import type { TwilioConnectStreamOptions } from './webhook.js';

const API_VERSION = '2010-04-01';
const DEFAULT_BASE_URL = 'https://api.twilio.com';
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Twilio's bounds for `Timeout` (ring time). */
const MAX_RING_TIMEOUT_SECONDS = 600;
/** Every progress event, so the call record sees ringing and answer times, not only the end. */
const STATUS_CALLBACK_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
const CALL_SID = /^CA[0-9a-zA-Z]{32}$/;

export interface TwilioCallControlOptions {
  accountSid: string;
  authToken: string;
  /** The API origin; a simulator's in tests. Default https://api.twilio.com. */
  baseUrl?: string;
  /** Gives up on one REST request after this long (a `network` error). Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * How to reconnect the agent's media stream after DTMF. Twilio can only play DTMF into a call by
   * replacing its TwiML, which ends the current `<Connect><Stream>`; with this hook, `sendDtmf` plays
   * the digits and connects a new stream (same parameters, new streamSid) that the server must attach
   * to the same call. Without it `sendDtmf` is unsupported.
   */
  resumeStream?: (carrierCallId: string) => TwilioConnectStreamOptions | Promise<TwilioConnectStreamOptions>;
}

type Operation = 'createCall' | 'hangUp' | 'transfer' | 'sendDtmf';

/** Twilio's error body: `{"code": 21211, "message": "...", "more_info": "...", "status": 400}`. */
interface TwilioErrorBody {
  code?: number | string;
  message?: string;
}

export class TwilioCallControl implements CarrierCallControl {
  readonly carrier = 'twilio' as const;
  readonly capabilities: CallControlCapabilities;

  private readonly accountSid: string;
  private readonly authToken: string;
  private readonly callsUrl: string;
  private readonly authorization: string;
  private readonly requestTimeoutMs: number;
  private readonly resumeStream: TwilioCallControlOptions['resumeStream'];

  constructor(options: TwilioCallControlOptions) {
    if (!options.accountSid) throw new TypeError('TwilioCallControl: accountSid is required');
    if (!options.authToken) throw new TypeError('TwilioCallControl: authToken is required');
    this.accountSid = options.accountSid;
    this.authToken = options.authToken;
    const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.callsUrl = `${baseUrl}/${API_VERSION}/Accounts/${encodeURIComponent(options.accountSid)}/Calls`;
    this.authorization =
      'Basic ' + Buffer.from(`${options.accountSid}:${options.authToken}`, 'utf8').toString('base64');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.resumeStream = options.resumeStream;
    this.capabilities = {
      outbound: true,
      hangUp: true,
      transfer: true,
      sendDtmf: options.resumeStream !== undefined,
      machineDetection: true,
    };
  }

  async createCall(request: CreateCallRequest): Promise<{ carrierCallId: string }> {
    if (!isTwilioE164(request.to)) this.reject('createCall', 'to is not an E.164 number');
    if (!isTwilioE164(request.from)) this.reject('createCall', 'from is not an E.164 number');
    const form = new URLSearchParams({
      To: request.to,
      From: request.from,
      Url: request.answerUrl,
      Method: 'POST',
      StatusCallback: request.statusCallbackUrl,
      StatusCallbackMethod: 'POST',
    });
    for (const event of STATUS_CALLBACK_EVENTS) form.append('StatusCallbackEvent', event);
    if (request.ringTimeoutSeconds !== undefined) {
      const seconds = request.ringTimeoutSeconds;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_RING_TIMEOUT_SECONDS) {
        this.reject(
          'createCall',
          `ringTimeoutSeconds must be a whole number from 1 to ${MAX_RING_TIMEOUT_SECONDS}`,
        );
      }
      form.set('Timeout', String(seconds));
    }
    if (request.machineDetection) {
      // DetectMessageEnd waits for a voicemail greeting to finish, so a message left after a
      // machine verdict is not spoken over the greeting. Async: the agent starts at once while
      // detection runs, and the verdict is POSTed to the same status callback.
      form.set('MachineDetection', 'DetectMessageEnd');
      form.set('AsyncAmd', 'true');
      form.set('AsyncAmdStatusCallback', request.statusCallbackUrl);
      form.set('AsyncAmdStatusCallbackMethod', 'POST');
    }
    const body = await this.post('createCall', `${this.callsUrl}.json`, form);
    const sid = typeof body === 'object' && body !== null ? (body as { sid?: unknown }).sid : undefined;
    if (typeof sid !== 'string' || sid === '') {
      throw new TelephonyError('twilio', 'carrier_error', 'Twilio createCall: the response has no call sid');
    }
    return { carrierCallId: sid };
  }

  /** Ends the call whatever its state (`completed` also cancels a call still queued or ringing). */
  async hangUp(carrierCallId: string): Promise<void> {
    await this.post(
      'hangUp',
      this.callUrl('hangUp', carrierCallId),
      new URLSearchParams({ Status: 'completed' }),
    );
  }

  /**
   * Cold transfer: the call's TwiML is replaced by a `<Dial>` to `to`, which ends the agent's media
   * stream. The dialled party sees Twilio's default caller ID for `<Dial>`.
   */
  async transfer(carrierCallId: string, to: string): Promise<void> {
    const url = this.callUrl('transfer', carrierCallId);
    if (!isTwilioE164(to)) this.reject('transfer', 'to is not an E.164 number');
    await this.post('transfer', url, new URLSearchParams({ Twiml: dialNumberTwiml(to) }));
  }

  /**
   * Plays DTMF into the call, then reconnects the agent's stream (see `resumeStream`): the current
   * media WebSocket closes and a new one opens after the digits have played.
   */
  async sendDtmf(carrierCallId: string, digits: string): Promise<void> {
    const url = this.callUrl('sendDtmf', carrierCallId);
    if (this.resumeStream === undefined) {
      throw new TelephonyError(
        'twilio',
        'unsupported',
        'Twilio sendDtmf: Twilio plays DTMF only by replacing the call TwiML, which ends the media stream; ' +
          'configure resumeStream to reconnect the stream after the digits',
      );
    }
    // Twilio pauses only in half seconds (`w`); the carriers' common `W` (a second) is two of them.
    const playable = digits.replaceAll('W', 'ww');
    if (!isTwilioPlayableDtmf(playable)) {
      this.reject('sendDtmf', 'digits must be 1-64 of 0-9, *, #, w and W (twice w)');
    }
    const resume = await this.resumeStream(carrierCallId);
    await this.post(
      'sendDtmf',
      url,
      new URLSearchParams({ Twiml: playDigitsThenConnectTwiml(playable, resume) }),
    );
  }

  // --- plumbing --------------------------------------------------------------------------------------

  private callUrl(operation: Operation, carrierCallId: string): string {
    // A call sid is the only thing we put in a path: anything else could address another resource.
    if (!CALL_SID.test(carrierCallId)) this.reject(operation, 'carrierCallId is not a Twilio call sid (CA…)');
    return `${this.callsUrl}/${carrierCallId}.json`;
  }

  private reject(operation: Operation, problem: string): never {
    throw new TelephonyError('twilio', 'invalid_request', `Twilio ${operation}: ${problem}`);
  }

  private async post(operation: Operation, url: string, form: URLSearchParams): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (error) {
      throw new TelephonyError(
        'twilio',
        'network',
        `Twilio ${operation}: no answer from the API (${causeOf(error)})`,
      );
    }
    const text = await response.text().catch(() => '');
    if (response.ok) {
      try {
        return text === '' ? {} : (JSON.parse(text) as unknown);
      } catch {
        throw new TelephonyError('twilio', 'carrier_error', `Twilio ${operation}: the response is not JSON`, {
          httpStatus: response.status,
        });
      }
    }
    throw this.httpError(operation, response.status, text);
  }

  private httpError(operation: Operation, httpStatus: number, text: string): TelephonyError {
    let body: TwilioErrorBody = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) body = parsed as TwilioErrorBody;
    } catch {
      // A proxy's HTML error page: the status alone says enough.
    }
    const carrierCode =
      typeof body.code === 'number' || typeof body.code === 'string' ? body.code : undefined;
    const twilioMessage = typeof body.message === 'string' ? this.redact(body.message).slice(0, 300) : '';
    const code = errorCodeFor(httpStatus);
    const message =
      `Twilio ${operation} failed: HTTP ${httpStatus}` +
      (carrierCode !== undefined ? `, Twilio error ${carrierCode}` : '') +
      (twilioMessage ? `: ${twilioMessage}` : '');
    return new TelephonyError('twilio', code, message, {
      httpStatus,
      ...(carrierCode !== undefined ? { carrierCode } : {}),
    });
  }

  /** Twilio's messages quote numbers and resource paths with our account SID: keep neither. */
  private redact(message: string): string {
    return message
      .split(this.authToken)
      .join('[auth token]')
      .split(this.accountSid)
      .join('[account]')
      .replace(/\+?[0-9][0-9 ().-]{6,}[0-9]/g, '[number]');
  }
}

function errorCodeFor(httpStatus: number): TelephonyErrorCode {
  if (httpStatus === 401 || httpStatus === 403) return 'auth';
  if (httpStatus === 404) return 'not_found';
  if (httpStatus === 429) return 'rate_limited';
  if (httpStatus >= 500) return 'carrier_error';
  return 'invalid_request';
}

/** What went wrong under fetch (ECONNREFUSED, TimeoutError, ...), never the request itself. */
function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (
      typeof cause === 'object' &&
      cause !== null &&
      typeof (cause as { code?: unknown }).code === 'string'
    ) {
      return (cause as { code: string }).code;
    }
    return error.name === 'TimeoutError' ? 'timed out' : error.name;
  }
  return 'unknown error';
}
