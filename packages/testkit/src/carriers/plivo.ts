// Plivo simulated (reference/wire-protocols.md §3.1), for tests and the bench. Vobiz clones Plivo, so
// everything here is written for a "flavour" and vobiz.ts supplies Vobiz's:
// - startPlivoRestSimulator(): the Call API Parley uses (create, hang up / cancel, transfer, DTMF)
//   behind the carrier's auth, recording every request and answering with carrier-shaped JSON; plus
//   the other half of an outbound call: answering (fetching answer_url) and signed ring, hangup and
//   machine-detection callbacks.
// - startPlivoCaller(): the phone side of a media stream — opens the server's WebSocket as the carrier
//   does (`start` with extra_headers), streams the caller's line as 20 ms frames on absolute deadlines
//   through the shared frame ticker, plays the agent's `playAudio` through the phone-playout model,
//   answers each `checkpoint` with `playedStream` once its audio has played, and on `clearAudio`
//   drops unplayed audio (no `playedStream` for it, as the carrier does) and acknowledges with
//   `clearedAudio`. Hanging up closes the socket: neither carrier sends a `stop`.
// - placePlivoInboundCall(): the signed answer webhook, then the media stream the returned XML asks for.
// Signing is implemented here independently of @parley/telephony, so the two check each other.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeMulaw, encodeMulaw, MULAW_SILENCE, pcm16Dbfs, systemClock } from '@parley/voice';
import type { Clock } from '@parley/voice';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { loadFixture } from '../fixtures.js';
import { AnsweringMachine, type AnsweringMachineOptions, type MachineLine } from './answering-machine.js';
import type { FixtureName } from '../fixtures.js';
import { sharedFrameTicker } from '../frame-ticker.js';
import type { FrameTicker, TickerClient } from '../frame-ticker.js';
import { PhonePlayout } from '../phone-playout.js';
import { SimulatorErrors } from './simulator-errors.js';

// --- flavours --------------------------------------------------------------------------------------

/** What differs between Plivo and a clone, as far as the simulators are concerned. */
export interface PlivoSimulatorFlavour {
  carrier: 'plivo' | 'vobiz';
  label: string;
  /** API root path the simulator serves under (`/v1` for Plivo, `/api/v1` for Vobiz). */
  apiPrefix: string;
  /** createCall's `message`. */
  callFiredMessage: string;
  /** Whether the request carries the account's credentials. */
  isAuthorized(request: IncomingMessage, authId: string, authToken: string): boolean;
  /** Signature headers for a callback the carrier POSTs (form fields) to `url`. */
  sign(authToken: string, url: string, fields: URLSearchParams): Record<string, string>;
  /** Byte order of inbound L16 payloads on the media socket. */
  inboundL16BigEndian: boolean;
  /** Plivo names an unanswered call by its request uuid only; Vobiz's request uuid is the call uuid. */
  requestUuidIsCallUuid: boolean;
  /** Vobiz adds Event=Ring|StartApp|Hangup to its callbacks. */
  callbackEvents: boolean;
  /** Vobiz's playedStream carries only event and name. */
  playedStreamHasStreamId: boolean;
}

/** A 20-digit nonce, like the carriers'. */
function nonce(): string {
  let digits = '';
  while (digits.length < 20) digits += randomBytes(8).readBigUInt64BE().toString();
  return digits.slice(0, 20);
}

/**
 * X-Plivo-Signature-V3 as plivo-node's `validateV3Signature` expects it for a form POST: the URL
 * (scheme, host, path), `?`, the URL's sorted query and a `.` if it had one, the sorted fields as
 * `namevalue…`, then `.` + nonce; base64 HMAC-SHA256 keyed by the auth token.
 */
export function signPlivoCallback(
  authToken: string,
  url: string,
  fields: URLSearchParams,
  nonceValue = nonce(),
): Record<string, string> {
  const parsed = new URL(url);
  let base = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  const query = [...parsed.searchParams]
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  const names = [...new Set(fields.keys())].sort();
  if (query || names.length > 0) base += `?${query}`;
  if (query && names.length > 0) base += '.';
  for (const name of names) for (const value of fields.getAll(name).sort()) base += name + value;
  const signature = createHmac('sha256', authToken).update(`${base}.${nonceValue}`).digest('base64');
  return { 'X-Plivo-Signature-V3': signature, 'X-Plivo-Signature-V3-Nonce': nonceValue };
}

function basicCredentials(header: string | undefined): { user: string | null; password: string | null } {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return { user: null, password: null };
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return { user: decoded, password: null };
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export const PLIVO_SIMULATOR_FLAVOUR: PlivoSimulatorFlavour = {
  carrier: 'plivo',
  label: 'Plivo',
  apiPrefix: '/v1',
  callFiredMessage: 'call fired',
  isAuthorized: (request, authId, authToken) => {
    const { user, password } = basicCredentials(request.headers.authorization);
    return user === authId && password === authToken;
  },
  sign: (authToken, url, fields) => signPlivoCallback(authToken, url, fields),
  // Not documented by Plivo; the simulator sends little-endian and Parley's Plivo profile refuses L16.
  inboundL16BigEndian: false,
  requestUuidIsCallUuid: false,
  callbackEvents: false,
  playedStreamHasStreamId: true,
};

// --- a small XML reader ----------------------------------------------------------------------------

export interface PlivoXmlElement {
  name: string;
  attributes: Record<string, string>;
  children: PlivoXmlElement[];
  /** Text directly inside the element, entities decoded, trimmed. */
  text: string;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity[0] === '#') {
      const codePoint = entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return String.fromCodePoint(codePoint);
    }
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity as 'amp'];
  });
}

const TAG = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const ATTRIBUTE = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** Parses a Plivo XML document to its `<Response>` (no DTDs or CDATA). Throws on malformed XML. */
export function parsePlivoXml(xml: string): PlivoXmlElement {
  let position = 0;
  const root: PlivoXmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: PlivoXmlElement[] = [root];
  const skip = (pattern: RegExp): boolean => {
    pattern.lastIndex = position;
    if (pattern.exec(xml) === null) return false;
    position = pattern.lastIndex;
    return true;
  };
  while (position < xml.length) {
    if (skip(/<\?[\s\S]*?\?>/y) || skip(/<!--[\s\S]*?-->/y)) continue;
    const current = stack[stack.length - 1]!;
    if (xml[position] !== '<') {
      const end = xml.indexOf('<', position);
      current.text += decodeEntities(xml.slice(position, end === -1 ? xml.length : end));
      position = end === -1 ? xml.length : end;
      continue;
    }
    TAG.lastIndex = position;
    const match = TAG.exec(xml);
    if (match === null) throw new Error(`Plivo XML: malformed tag at offset ${position}`);
    position = TAG.lastIndex;
    const [, closing, name, rawAttributes, selfClosing] = match;
    if (closing) {
      if (current.name !== name) throw new Error(`Plivo XML: </${name}> closes <${current.name}>`);
      current.text = current.text.trim();
      stack.pop();
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const attribute of rawAttributes!.matchAll(ATTRIBUTE)) {
      attributes[attribute[1]!] = decodeEntities(attribute[2] ?? attribute[3] ?? '');
    }
    const element: PlivoXmlElement = { name: name!, attributes, children: [], text: '' };
    current.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length !== 1) throw new Error(`Plivo XML: <${stack[stack.length - 1]!.name}> is never closed`);
  const response = root.children[0];
  if (root.children.length !== 1 || response?.name !== 'Response') {
    throw new Error('Plivo XML: the document must have exactly one <Response> root');
  }
  return response;
}

// --- REST simulator --------------------------------------------------------------------------------

export interface RecordedPlivoRequest {
  method: string;
  /** Path below the API prefix, e.g. `/Account/MA1/Call/`. */
  path: string;
  /** The JSON body, or null when there was none (or it was not JSON). */
  body: Record<string, unknown> | null;
  authorized: boolean;
  responseStatus: number;
}

export interface SentPlivoCallback {
  kind: 'answer' | 'ring' | 'hangup' | 'machine_detection' | 'transfer';
  url: string;
  form: URLSearchParams;
  responseStatus: number;
  responseBody: string;
}

export type PlivoSimulatedCallStatus =
  'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed' | 'timeout' | 'cancel';

export interface PlivoSimulatedCall {
  requestUuid: string;
  /** Assigned when the call is answered (at once for Vobiz, whose request uuid is the call uuid). */
  callUuid: string | null;
  status: PlivoSimulatedCallStatus;
  /** The create request's JSON body. */
  create: Record<string, unknown>;
  /** Transfers: the aleg_url each pointed the call at, in order. */
  transfers: string[];
  /** DTMF digits sent, in order. */
  digits: string[];
  answeredAtMs: number | null;
}

/** A canned error for the next REST request. */
export interface InjectedPlivoError {
  status: number;
  /** Default: the carrier's JSON `{ api_id, error }`. */
  rawBody?: string;
}

export interface PlivoRestSimulatorOptions {
  authId?: string;
  authToken?: string;
}

const ENDED_STATUSES = new Set<PlivoSimulatedCallStatus>([
  'completed',
  'busy',
  'no-answer',
  'failed',
  'timeout',
  'cancel',
]);

export async function startPlivoRestSimulator(
  options: PlivoRestSimulatorOptions = {},
): Promise<PlivoRestSimulator> {
  return startPlivoFamilyRestSimulator(PLIVO_SIMULATOR_FLAVOUR, options);
}

export async function startPlivoFamilyRestSimulator(
  flavour: PlivoSimulatorFlavour,
  options: PlivoRestSimulatorOptions = {},
): Promise<PlivoRestSimulator> {
  const simulator = new PlivoRestSimulator(
    flavour,
    options.authId ?? `MA${randomBytes(9).toString('hex').toUpperCase()}`,
    options.authToken ?? randomBytes(20).toString('hex'),
  );
  await simulator.listen();
  return simulator;
}

export class PlivoRestSimulator {
  /** http://127.0.0.1:port plus the API prefix — give it to the call control as `baseUrl`. */
  baseUrl = '';
  readonly requests: RecordedPlivoRequest[] = [];
  readonly callbacks: SentPlivoCallback[] = [];
  /** By request uuid. */
  readonly calls = new Map<string, PlivoSimulatedCall>();
  /** What the simulator failed at on its own (a transfer document it could not fetch, ...). */
  readonly errors: SimulatorErrors;
  private readonly server: Server;
  private readonly injected: InjectedPlivoError[] = [];

  constructor(
    readonly flavour: PlivoSimulatorFlavour,
    readonly authId: string,
    readonly authToken: string,
  ) {
    this.errors = new SimulatorErrors(flavour.label);
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.errors.record(`handling ${request.method ?? 'a'} request`, error);
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
  }

  /** @internal */
  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.flavour.apiPrefix}`;
  }

  /** The next REST request is answered with this error instead (one per call, in order). */
  failNextRequest(error: InjectedPlivoError): void {
    this.injected.push(error);
  }

  call(requestUuid: string): PlivoSimulatedCall {
    const call = this.calls.get(requestUuid);
    if (!call) throw new Error(`${this.flavour.label} simulator: no call ${requestUuid}`);
    return call;
  }

  /** The callee's phone rings: a signed POST to ring_url. */
  async ring(requestUuid: string): Promise<SentPlivoCallback> {
    const call = this.call(requestUuid);
    call.status = 'ringing';
    return this.callback(call, 'ring', 'ring_url', this.fields(call, 'ringing', 'Ring'));
  }

  /**
   * The callee picks up: the call gets its call uuid, goes in-progress and the carrier fetches
   * answer_url. Resolves with the XML Parley answered.
   */
  async answer(requestUuid: string): Promise<{ xml: string; callback: SentPlivoCallback }> {
    const call = this.call(requestUuid);
    call.callUuid ??= randomUUID();
    call.status = 'in-progress';
    call.answeredAtMs ??= Date.now();
    const callback = await this.callback(
      call,
      'answer',
      'answer_url',
      this.fields(call, 'in-progress', 'StartApp'),
    );
    if (callback.responseStatus !== 200) {
      throw new Error(`${this.flavour.label} simulator: answer_url replied HTTP ${callback.responseStatus}`);
    }
    return { xml: callback.responseBody, callback };
  }

  /** The asynchronous machine-detection verdict, POSTed to machine_detection_url. */
  async machineDetected(requestUuid: string, machine: boolean): Promise<SentPlivoCallback> {
    const call = this.call(requestUuid);
    const form = this.fields(call, 'in-progress', 'MachineDetection');
    form.set('Event', 'MachineDetection');
    form.set('Machine', String(machine));
    form.set('IfMachine', call.create['machine_detection'] === 'hangup' ? 'hangup' : 'continue');
    return this.callback(call, 'machine_detection', 'machine_detection_url', form);
  }

  /**
   * An answering machine took the call (answered, its media stream connected as `line`): it plays its
   * greeting while the carrier's asynchronous detection listens, and the verdict (`Machine=true`) is
   * POSTed to machine_detection_url `verdictAfterMs` into the greeting, or at its end when the greeting
   * is shorter. Neither carrier detects the beep, so a long greeting is still playing at the verdict.
   * Resolves once the greeting has ended (or the call was hung up during it) with the machine, which
   * records what it hears after its beep, the callback Parley answered, and when the verdict was sent
   * (`verdictAtMs`: performance.now(), the callers' default clock, to compare with `closedAtMs`).
   */
  async answerByMachine(
    requestUuid: string,
    line: MachineLine,
    options: AnsweringMachineOptions & { verdictAfterMs?: number } = {},
  ): Promise<{ machine: AnsweringMachine; callback: SentPlivoCallback; verdictAtMs: number }> {
    const call = this.call(requestUuid);
    if (!call.create['machine_detection']) {
      throw new Error(
        `${this.flavour.label} simulator: call ${requestUuid} was not dialled with machine_detection`,
      );
    }
    const machine = new AnsweringMachine(line);
    const greeting = machine.playGreeting(options);
    const verdictAfterMs = options.verdictAfterMs ?? 1500;
    let timer: NodeJS.Timeout | undefined;
    // The carrier's detection time, not a test's synchronisation: the verdict is due then.
    const detected = Number.isFinite(verdictAfterMs)
      ? new Promise<void>((resolve) => (timer = setTimeout(resolve, verdictAfterMs)))
      : new Promise<void>(() => {});
    await Promise.race([detected, greeting]);
    clearTimeout(timer);
    const verdictAtMs = performance.now();
    const callback = await this.machineDetected(requestUuid, true);
    await greeting;
    return { machine, callback, verdictAtMs };
  }

  /** The call ends with `status` (and a hangup cause): a signed POST to hangup_url. */
  async hangup(
    requestUuid: string,
    status: Exclude<PlivoSimulatedCallStatus, 'queued' | 'ringing' | 'in-progress'> = 'completed',
    cause = 'NORMAL_CLEARING',
  ): Promise<SentPlivoCallback> {
    const call = this.call(requestUuid);
    call.status = status;
    const form = this.fields(call, status, 'Hangup');
    const seconds = call.answeredAtMs === null ? 0 : Math.round((Date.now() - call.answeredAtMs) / 1000);
    form.set('HangupCause', cause);
    form.set('HangupCauseName', cause === 'NORMAL_CLEARING' ? 'Normal Hangup' : cause);
    form.set('Duration', String(seconds));
    form.set('BillDuration', String(seconds));
    return this.callback(call, 'hangup', 'hangup_url', form);
  }

  /**
   * POSTs any form fields to any URL, signed as this carrier signs callbacks (for server routes not
   * tied to a simulated call, e.g. a stream status callback).
   */
  async sendSignedCallback(
    url: string,
    fields: Record<string, string>,
  ): Promise<{ status: number; body: string }> {
    const form = new URLSearchParams(fields);
    const reply = await postSignedForm(url, form, this.flavour.sign(this.authToken, url, form));
    return { status: reply.status, body: reply.body };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private fields(call: PlivoSimulatedCall, status: string, event: string): URLSearchParams {
    const form = new URLSearchParams({
      CallUUID: call.callUuid ?? call.requestUuid,
      RequestUUID: call.requestUuid,
      ALegRequestUUID: call.requestUuid,
      From: String(call.create['from'] ?? ''),
      To: String(call.create['to'] ?? ''),
      Direction: 'outbound',
      CallStatus: status,
    });
    if (this.flavour.callbackEvents) form.set('Event', event);
    return form;
  }

  private async callback(
    call: PlivoSimulatedCall,
    kind: SentPlivoCallback['kind'],
    urlField: string,
    form: URLSearchParams,
  ): Promise<SentPlivoCallback> {
    const url = call.create[urlField];
    if (typeof url !== 'string' || !url) {
      throw new Error(`${this.flavour.label} simulator: call ${call.requestUuid} has no ${urlField}`);
    }
    return this.post(kind, url, form);
  }

  private async post(
    kind: SentPlivoCallback['kind'],
    url: string,
    form: URLSearchParams,
  ): Promise<SentPlivoCallback> {
    const reply = await postSignedForm(url, form, this.flavour.sign(this.authToken, url, form));
    const callback: SentPlivoCallback = {
      kind,
      url,
      form,
      responseStatus: reply.status,
      responseBody: reply.body,
    };
    this.callbacks.push(callback);
    return callback;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const fullPath = (request.url ?? '/').split('?')[0]!;
    const path = fullPath.startsWith(this.flavour.apiPrefix)
      ? fullPath.slice(this.flavour.apiPrefix.length)
      : fullPath;
    let body: Record<string, unknown> | null = null;
    const text = Buffer.concat(chunks).toString('utf8');
    if (text) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
          body = parsed as Record<string, unknown>;
        }
      } catch {
        body = null;
      }
    }
    const authorized = this.flavour.isAuthorized(request, this.authId, this.authToken);
    const recorded: RecordedPlivoRequest = {
      method: request.method ?? 'GET',
      path,
      body,
      authorized,
      responseStatus: 0,
    };
    this.requests.push(recorded);
    const reply = (status: number, payload?: Record<string, unknown> | string): void => {
      recorded.responseStatus = status;
      if (payload === undefined) {
        response.writeHead(status);
        response.end();
        return;
      }
      const isText = typeof payload === 'string';
      response.writeHead(status, { 'content-type': isText ? 'text/html' : 'application/json' });
      response.end(isText ? payload : JSON.stringify({ api_id: randomUUID(), ...payload }));
    };
    const fail = (status: number, error: string): void => reply(status, { error });

    if (!fullPath.startsWith(this.flavour.apiPrefix)) return fail(404, 'not found');
    if (!authorized) return fail(401, 'Authentication credentials invalid');
    const injected = this.injected.shift();
    if (injected) return reply(injected.status, injected.rawBody ?? { error: 'simulated failure' });

    // Paths are case-sensitive and end in a slash, as on the real API.
    const account = `/Account/${this.authId}/`;
    if (!path.startsWith(account)) return fail(404, 'not found');
    const rest = path.slice(account.length);
    const method = request.method;
    if (rest === 'Call/' && method === 'POST') return this.createCall(body, reply, fail);
    const callMatch = /^Call\/([^/]+)\/$/.exec(rest);
    if (callMatch && method === 'DELETE') return this.hangUpCall(callMatch[1]!, reply, fail);
    if (callMatch && method === 'POST') return this.transferCall(callMatch[1]!, body, reply, fail);
    const dtmfMatch = /^Call\/([^/]+)\/DTMF\/$/.exec(rest);
    if (dtmfMatch && method === 'POST') return this.sendDigits(dtmfMatch[1]!, body, reply, fail);
    const requestMatch = /^Request\/([^/]+)\/$/.exec(rest);
    if (requestMatch && method === 'DELETE' && !this.flavour.requestUuidIsCallUuid) {
      return this.cancelRequest(requestMatch[1]!, reply, fail);
    }
    return fail(404, 'not found');
  }

  private byCallUuid(callUuid: string): PlivoSimulatedCall | undefined {
    for (const call of this.calls.values()) if (call.callUuid === callUuid) return call;
    return undefined;
  }

  private createCall(
    body: Record<string, unknown> | null,
    reply: (status: number, payload?: Record<string, unknown>) => void,
    fail: (status: number, error: string) => void,
  ): void {
    if (!body) return fail(400, 'request body must be JSON');
    for (const field of ['from', 'to', 'answer_url']) {
      if (typeof body[field] !== 'string' || body[field] === '') return fail(400, `${field} is required`);
    }
    const requestUuid = randomUUID();
    const call: PlivoSimulatedCall = {
      requestUuid,
      callUuid: this.flavour.requestUuidIsCallUuid ? requestUuid : null,
      status: 'queued',
      create: body,
      transfers: [],
      digits: [],
      answeredAtMs: null,
    };
    this.calls.set(requestUuid, call);
    reply(201, { message: this.flavour.callFiredMessage, request_uuid: requestUuid });
  }

  private hangUpCall(
    callUuid: string,
    reply: (status: number, payload?: Record<string, unknown>) => void,
    fail: (status: number, error: string) => void,
  ): void {
    const call = this.byCallUuid(callUuid);
    if (!call || ENDED_STATUSES.has(call.status)) return fail(404, 'call not found');
    call.status = call.status === 'in-progress' ? 'completed' : 'cancel';
    reply(204);
  }

  private cancelRequest(
    requestUuid: string,
    reply: (status: number, payload?: Record<string, unknown>) => void,
    fail: (status: number, error: string) => void,
  ): void {
    const call = this.calls.get(requestUuid);
    if (!call || call.callUuid !== null || ENDED_STATUSES.has(call.status))
      return fail(404, 'request not found');
    call.status = 'cancel';
    reply(204);
  }

  private transferCall(
    callUuid: string,
    body: Record<string, unknown> | null,
    reply: (status: number, payload?: Record<string, unknown>) => void,
    fail: (status: number, error: string) => void,
  ): void {
    const call = this.byCallUuid(callUuid);
    if (!call || call.status !== 'in-progress') return fail(404, 'call not found');
    const legs = body?.['legs'] ?? 'aleg';
    const url = body?.['aleg_url'];
    if (legs !== 'aleg' || typeof url !== 'string' || !url)
      return fail(400, 'aleg_url is required for legs=aleg');
    call.transfers.push(url);
    reply(202, { message: 'call transferred', call_uuids: [callUuid] });
    // The carrier then fetches the document the call goes on with, signed like any callback (see
    // `callbacks`, kind `transfer`, for what was answered; `errors` for a fetch that failed).
    this.errors.watch(
      'fetching the transfer document',
      this.post('transfer', url, this.fields(call, 'in-progress', 'Transfer')),
    );
  }

  private sendDigits(
    callUuid: string,
    body: Record<string, unknown> | null,
    reply: (status: number, payload?: Record<string, unknown>) => void,
    fail: (status: number, error: string) => void,
  ): void {
    const call = this.byCallUuid(callUuid);
    if (!call || call.status !== 'in-progress') return fail(404, 'call not found');
    const digits = body?.['digits'];
    if (typeof digits !== 'string' || !/^[0-9*#A-DwW]+$/.test(digits)) return fail(400, 'digits is invalid');
    call.digits.push(digits);
    reply(202, { message: 'digits sent' });
  }
}

async function postSignedForm(
  url: string,
  form: URLSearchParams,
  signature: Record<string, string>,
): Promise<{ status: number; body: string; contentType: string | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...signature },
    body: form.toString(),
  });
  return {
    status: response.status,
    body: await response.text(),
    contentType: response.headers.get('content-type'),
  };
}

// --- the caller ------------------------------------------------------------------------------------

const FRAME_MS = 20;
const DTMF_DIGIT = /^[0-9*#A-D]$/;

export type PlivoCallerContentType = 'audio/x-mulaw;rate=8000' | 'audio/x-l16;rate=8000';

export interface PlivoCallerOptions {
  /** The server's media WebSocket URL (ws://127.0.0.1:port/...). */
  url: string;
  /** Sent as `extra_headers` (`k=v;k2=v2`), as the answer document's extraHeaders are echoed. */
  extraHeaders?: Record<string, string>;
  /** Default μ-law 8 kHz. L16 is sent in the flavour's byte order. */
  contentType?: PlivoCallerContentType;
  callId?: string;
  streamId?: string;
  accountId?: string;
  /** Upgrade request headers. */
  headers?: Record<string, string>;
  clock?: Clock;
  /** Keep the agent's decoded samples for `heardAudio()`. Default true; off for load runs. */
  recordAudio?: boolean;
  /** Agent frames quieter than this count as silent. Default -50 dBFS. */
  silenceThresholdDbfs?: number;
  connectTimeoutMs?: number;
}

export interface PlivoReceivedMedia {
  kind: 'playAudio';
  atMs: number;
  playsAtMs: number;
  durationMs: number;
  levelDbfs: number;
  isSilent: boolean;
  samples: Int16Array | null;
}

export interface PlivoReceivedCheckpoint {
  kind: 'checkpoint';
  atMs: number;
  name: string;
  /** When `playedStream` was sent (null while playing, and for ever if a clear discarded it). */
  playedAtMs: number | null;
  /** True when a clearAudio discarded the checkpoint's audio (no playedStream is sent). */
  cleared: boolean;
}

export interface PlivoReceivedClear {
  kind: 'clearAudio';
  atMs: number;
  discardedMs: number;
}

/** A message the carrier would reject or ignore. */
export interface PlivoReceivedInvalid {
  kind: 'invalid';
  atMs: number;
  reason: string;
  text: string;
}

export type PlivoCallerReceived =
  PlivoReceivedMedia | PlivoReceivedCheckpoint | PlivoReceivedClear | PlivoReceivedInvalid;

export interface PlivoPlaybackTimes {
  startedAtMs: number;
  endedAtMs: number;
}

interface QueuedPlay {
  payloads: string[];
  next: number;
  startedAtMs: number | null;
  resolve: (times: PlivoPlaybackTimes) => void;
  reject: (error: Error) => void;
}

function frameCodec(contentType: PlivoCallerContentType, bigEndian: boolean) {
  const mulaw = contentType.startsWith('audio/x-mulaw');
  const bytesPerFrame = mulaw ? 160 : 320;
  const encode = (samples: Int16Array): Buffer => {
    if (mulaw) return Buffer.from(encodeMulaw(samples));
    const bytes = Buffer.alloc(samples.length * 2);
    for (let i = 0; i < samples.length; i++) {
      if (bigEndian) bytes.writeInt16BE(samples[i]!, i * 2);
      else bytes.writeInt16LE(samples[i]!, i * 2);
    }
    return bytes;
  };
  const silence = mulaw ? Buffer.alloc(160, MULAW_SILENCE) : Buffer.alloc(320);
  return { mulaw, bytesPerFrame, encode, silentPayload: silence.toString('base64') };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function startPlivoCaller(options: PlivoCallerOptions): Promise<PlivoCaller> {
  return PlivoCaller.connect(PLIVO_SIMULATOR_FLAVOUR, options);
}

export class PlivoCaller implements TickerClient {
  readonly callId: string;
  readonly streamId: string;
  readonly contentType: PlivoCallerContentType;
  /** Clock time `start` was sent; frame k of the line is due at this + 20·k ms. */
  readonly startSentAtMs: number;
  readonly received: PlivoCallerReceived[] = [];
  /** Arrival times of agent frames that were not silent (ascending). */
  readonly nonSilentFrameTimes: number[] = [];
  /** Arrival times of `clearAudio`. */
  readonly clears: number[] = [];
  readonly playedSent: { name: string; atMs: number }[] = [];
  closedAtMs: number | null = null;
  closeCode: number | null = null;
  closedBy: 'caller' | 'server' | null = null;

  private readonly clock: Clock;
  private readonly ticker: FrameTicker;
  private readonly playout: PhonePlayout<PlivoReceivedCheckpoint>;
  private readonly codec: ReturnType<typeof frameCodec>;
  private readonly silenceThresholdDbfs: number;
  private readonly recordAudio: boolean;
  private readonly startEpochMs = Date.now();
  private readonly streamIdJson: string;
  private readonly plays: QueuedPlay[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly closed: Promise<void>;
  private readonly payloadCache = new WeakMap<Int16Array, string[]>();
  private sequenceNumber = 0;
  private nextFrameIndex = 0;
  /** While a clear runs, the playout's "played" callback means "discarded". */
  private clearing = false;

  static async connect(flavour: PlivoSimulatorFlavour, options: PlivoCallerOptions): Promise<PlivoCaller> {
    const socket = new WebSocket(options.url, {
      headers: options.headers ?? {},
      handshakeTimeout: options.connectTimeoutMs ?? 5000,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.off('open', onOpen);
        reject(new Error(`${flavour.label} caller could not connect: ${error.message}`));
      };
      const onOpen = (): void => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('open', onOpen);
      socket.once('error', onError);
    });
    return new PlivoCaller(socket, flavour, options);
  }

  private constructor(
    private readonly socket: WebSocket,
    private readonly flavour: PlivoSimulatorFlavour,
    options: PlivoCallerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.callId = options.callId ?? randomUUID();
    this.streamId = options.streamId ?? randomUUID();
    this.streamIdJson = JSON.stringify(this.streamId);
    this.contentType = options.contentType ?? 'audio/x-mulaw;rate=8000';
    this.codec = frameCodec(this.contentType, flavour.inboundL16BigEndian);
    this.silenceThresholdDbfs = options.silenceThresholdDbfs ?? -50;
    this.recordAudio = options.recordAudio ?? true;

    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('error', () => {
      // The 'close' that follows ends the call.
    });
    this.closed = new Promise<void>((resolve) => {
      socket.on('close', (code) => {
        this.onClosed(code);
        resolve();
      });
    });

    const extraHeaders = Object.entries(options.extraHeaders ?? {})
      .map(([key, value]) => `${key}=${value}`)
      .join(';');
    this.sendJson({
      event: 'start',
      sequenceNumber: this.nextSequenceNumber(),
      start: {
        callId: this.callId,
        streamId: this.streamId,
        accountId: options.accountId ?? 'MA0000SIMULATOR',
        tracks: ['inbound'],
        mediaFormat: { encoding: this.codec.mulaw ? 'audio/x-mulaw' : 'audio/x-l16', sampleRate: 8000 },
      },
      extra_headers: extraHeaders,
    });
    this.startSentAtMs = this.clock.now();
    this.playout = new PhonePlayout<PlivoReceivedCheckpoint>({
      clock: this.clock,
      originMs: this.startSentAtMs,
      keepSamples: this.recordAudio,
      onMarkPlayed: (checkpoint) => this.onCheckpointDone(checkpoint),
    });
    this.ticker = sharedFrameTicker(this.clock);
    this.ticker.add(this);
  }

  // --- what the caller does ----------------------------------------------------------------------

  /** Says something (PCM16 8 kHz or a fixture) after anything already queued; resolves with frame times. */
  play(audio: Int16Array | FixtureName): Promise<PlivoPlaybackTimes> {
    if (this.closedBy !== null)
      return Promise.reject(new Error(`${this.flavour.label} caller: the call has ended`));
    const payloads = this.framePayloads(typeof audio === 'string' ? loadFixture(audio).samples : audio);
    if (payloads.length === 0) {
      const nowMs = this.clock.now();
      return Promise.resolve({ startedAtMs: nowMs, endedAtMs: nowMs });
    }
    return new Promise((resolve, reject) =>
      this.plays.push({ payloads, next: 0, startedAtMs: null, resolve, reject }),
    );
  }

  /** Presses a key (0-9, *, #, A-D). */
  sendDtmf(digit: string): void {
    if (!DTMF_DIGIT.test(digit)) throw new RangeError(`not a DTMF digit: ${digit}`);
    this.sendJson({
      event: 'dtmf',
      sequenceNumber: this.nextSequenceNumber(),
      streamId: this.streamId,
      dtmf: { track: 'inbound', digit, timestamp: String(this.epochNow()) },
    });
  }

  /** Sends any text frame (for malformed-input tests). */
  sendRaw(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  /** The caller hangs up: the carrier closes the socket (no stop message). Resolves once closed. */
  async hangUp(): Promise<void> {
    if (this.closedAtMs === null && this.closedBy === null) {
      this.closedBy = 'caller';
      this.stopLine('the caller hung up');
      this.socket.close(1000);
      const timer = setTimeout(() => this.socket.terminate(), 2000);
      await this.closed;
      clearTimeout(timer);
      return;
    }
    await this.closed;
  }

  // --- what the caller observed ------------------------------------------------------------------

  get checkpoints(): PlivoReceivedCheckpoint[] {
    return this.received.filter(
      (message): message is PlivoReceivedCheckpoint => message.kind === 'checkpoint',
    );
  }

  get invalidMessages(): PlivoReceivedInvalid[] {
    return this.received.filter((message): message is PlivoReceivedInvalid => message.kind === 'invalid');
  }

  /** The agent's audio as heard: PCM16 8 kHz from `start` until now (or the hang-up). */
  heardAudio(): Int16Array {
    return this.playout.heardAudio(Math.min(this.clock.now(), this.closedAtMs ?? Infinity));
  }

  get bufferedOutboundMs(): number {
    return this.playout.bufferedMs(this.clock.now());
  }

  get framesSent(): number {
    return this.nextFrameIndex;
  }

  /** Resolves with the first truthy value of `probe`, re-checked on every event; no polling. */
  waitFor<T>(probe: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (outcome: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        outcome();
      };
      const check = (): void => {
        let value: T | null | undefined | false;
        try {
          value = probe();
        } catch (error) {
          finish(() => reject(error instanceof Error ? error : new Error(String(error))));
          return;
        }
        if (value) finish(() => resolve(value));
        else if (this.closedAtMs !== null) {
          finish(() =>
            reject(new Error(`${this.flavour.label} caller: call closed before the condition was met`)),
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`${this.flavour.label} caller: condition not met within ${timeoutMs} ms`)),
          ),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }

  // --- the line ----------------------------------------------------------------------------------

  /** @internal Shared-ticker hook. */
  nextDueMs(): number {
    return this.startSentAtMs + this.nextFrameIndex * FRAME_MS;
  }

  /** @internal Shared-ticker hook: sends every frame due by `dueByMs`. */
  onDue(_nowMs: number, dueByMs: number): void {
    while (this.closedBy === null && this.nextDueMs() <= dueByMs) this.sendFrame();
    this.notify();
  }

  private sendFrame(): void {
    const index = this.nextFrameIndex++;
    const play = this.plays[0];
    let payload = this.codec.silentPayload;
    let finished: QueuedPlay | null = null;
    const nowMs = this.clock.now();
    if (play) {
      play.startedAtMs ??= nowMs;
      payload = play.payloads[play.next++]!;
      if (play.next >= play.payloads.length) finished = this.plays.shift()!;
    }
    // Built by hand: this runs 50 times a second per caller. Timestamps are epoch ms, as Plivo's.
    this.sendText(
      `{"event":"media","sequenceNumber":${this.nextSequenceNumber()},"streamId":${this.streamIdJson},` +
        `"media":{"track":"inbound","timestamp":"${this.startEpochMs + index * FRAME_MS}","chunk":${index + 1},` +
        `"payload":"${payload}"}}`,
    );
    if (finished) finished.resolve({ startedAtMs: finished.startedAtMs ?? nowMs, endedAtMs: nowMs });
  }

  private framePayloads(samples: Int16Array): string[] {
    const cached = this.payloadCache.get(samples);
    if (cached) return cached;
    const payloads: string[] = [];
    const samplesPerFrame = 160;
    for (let offset = 0; offset < samples.length; offset += samplesPerFrame) {
      const frame = new Int16Array(samplesPerFrame);
      frame.set(samples.subarray(offset, offset + samplesPerFrame));
      payloads.push(this.codec.encode(frame).toString('base64'));
    }
    this.payloadCache.set(samples, payloads);
    return payloads;
  }

  private stopLine(reason: string): void {
    this.ticker.remove(this);
    this.playout.close();
    for (const play of this.plays.splice(0)) {
      play.reject(new Error(`${this.flavour.label} caller: ${reason} before the audio finished`));
    }
  }

  // --- what the server sends -----------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    const atMs = this.clock.now();
    const text = isBinary ? '' : rawText(data);
    const invalid = (reason: string): void => {
      this.received.push({ kind: 'invalid', atMs, reason, text: text.slice(0, 200) });
    };
    if (isBinary) invalid('binary frame (the carrier accepts JSON text only)');
    else {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        message = undefined;
      }
      if (!isRecord(message)) invalid('not a JSON object');
      else this.onServerMessage(message, atMs, invalid);
    }
    this.notify();
  }

  private onServerMessage(
    message: Record<string, unknown>,
    atMs: number,
    invalid: (reason: string) => void,
  ): void {
    switch (message['event']) {
      case 'playAudio':
        return this.onPlayAudio(message, atMs, invalid);
      case 'checkpoint': {
        const name = message['name'];
        if (typeof name !== 'string') return invalid('checkpoint without a name');
        if (message['streamId'] !== this.streamId)
          return invalid('checkpoint with a missing or wrong streamId');
        const checkpoint: PlivoReceivedCheckpoint = {
          kind: 'checkpoint',
          atMs,
          name,
          playedAtMs: null,
          cleared: false,
        };
        this.received.push(checkpoint);
        this.playout.addMark(checkpoint, atMs);
        return;
      }
      case 'clearAudio': {
        if (message['streamId'] !== this.streamId)
          return invalid('clearAudio with a missing or wrong streamId');
        this.clears.push(atMs);
        const entry: PlivoReceivedClear = { kind: 'clearAudio', atMs, discardedMs: 0 };
        this.received.push(entry);
        this.clearing = true;
        try {
          entry.discardedMs = this.playout.clear(atMs).discardedMs;
        } finally {
          this.clearing = false;
        }
        this.sendJson({
          event: 'clearedAudio',
          sequenceNumber: this.nextSequenceNumber(),
          streamId: this.streamId,
        });
        return;
      }
      default:
        return invalid(`unknown event ${String(message['event'])}`);
    }
  }

  private onPlayAudio(
    message: Record<string, unknown>,
    atMs: number,
    invalid: (reason: string) => void,
  ): void {
    const media = message['media'];
    if (!isRecord(media) || typeof media['payload'] !== 'string')
      return invalid('playAudio without media.payload');
    const expectedType = this.codec.mulaw ? 'audio/x-mulaw' : 'audio/x-l16';
    if (media['contentType'] !== expectedType || Number(media['sampleRate']) !== 8000) {
      // The carrier plays a mismatched format as noise; the caller records it as invalid instead.
      return invalid(
        `playAudio as ${String(media['contentType'])}/${String(media['sampleRate'])}, stream is ${expectedType}/8000`,
      );
    }
    const bytes = Buffer.from(media['payload'], 'base64');
    let samples: Int16Array;
    if (this.codec.mulaw) samples = decodeMulaw(bytes);
    else {
      if (bytes.byteLength % 2 !== 0) return invalid('playAudio L16 payload of odd length');
      // playAudio L16 is little-endian on both carriers.
      samples = new Int16Array(bytes.byteLength / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
    }
    const levelDbfs = pcm16Dbfs(samples);
    const isSilent = !(levelDbfs >= this.silenceThresholdDbfs);
    const { playsAtMs } = this.playout.addAudio(samples, atMs);
    if (!isSilent) this.nonSilentFrameTimes.push(atMs);
    this.received.push({
      kind: 'playAudio',
      atMs,
      playsAtMs,
      durationMs: samples.length / 8,
      levelDbfs,
      isSilent,
      samples: this.recordAudio ? samples : null,
    });
  }

  private onCheckpointDone(checkpoint: PlivoReceivedCheckpoint): void {
    if (this.clearing) {
      // Discarded audio is never acknowledged with playedStream.
      checkpoint.cleared = true;
      return;
    }
    if (this.closedBy !== null) return;
    checkpoint.playedAtMs = this.clock.now();
    this.playedSent.push({ name: checkpoint.name, atMs: checkpoint.playedAtMs });
    this.sendJson(
      this.flavour.playedStreamHasStreamId
        ? {
            event: 'playedStream',
            sequenceNumber: this.nextSequenceNumber(),
            streamId: this.streamId,
            name: checkpoint.name,
          }
        : { event: 'playedStream', name: checkpoint.name },
    );
    this.notify();
  }

  private onClosed(code: number): void {
    this.closedAtMs = this.clock.now();
    this.closeCode = code;
    this.closedBy ??= 'server';
    this.stopLine('the call ended');
    this.notify();
  }

  // --- plumbing ------------------------------------------------------------------------------------

  private epochNow(): number {
    return this.startEpochMs + Math.round(this.clock.now() - this.startSentAtMs);
  }

  private nextSequenceNumber(): number {
    return ++this.sequenceNumber;
  }

  private sendJson(message: object): void {
    this.sendText(JSON.stringify(message));
  }

  private sendText(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  private notify(): void {
    if (this.waiters.size === 0) return;
    for (const check of [...this.waiters]) check();
  }
}

// --- inbound calls ---------------------------------------------------------------------------------

export interface PlivoInboundCallOptions {
  /** Where the answer webhook is POSTed (Parley's local address in tests). */
  answerUrl: string;
  authToken: string;
  from: string;
  to: string;
  callUuid?: string;
  /** The URL the carrier signs: the number's configured (public) answer URL. Default `answerUrl`. */
  signatureUrl?: string;
  /** Where to open the media socket for the `<Stream>` URL; default the URL itself. */
  resolveMediaUrl?: (streamUrl: string) => string;
  /** Passed to the caller (clock, recordAudio, ...). */
  caller?: Omit<PlivoCallerOptions, 'url' | 'extraHeaders' | 'callId' | 'contentType'>;
}

export type PlivoInboundCallResult =
  | {
      kind: 'stream';
      callUuid: string;
      xml: string;
      /** The `<Stream>` URL as written in the XML. */
      streamUrl: string;
      /** The `<Stream>` attributes. */
      attributes: Record<string, string>;
      extraHeaders: Record<string, string>;
      caller: PlivoCaller;
    }
  | {
      kind: 'hangup';
      callUuid: string;
      xml: string;
      /** Each `<Speak>`, in order. */
      spoken: string[];
    };

function parseExtraHeadersAttribute(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const [key, value] = pair.split('=');
    if (key && value !== undefined) headers[key] = value;
  }
  return headers;
}

export function placePlivoInboundCall(options: PlivoInboundCallOptions): Promise<PlivoInboundCallResult> {
  return placePlivoFamilyInboundCall(PLIVO_SIMULATOR_FLAVOUR, options);
}

/**
 * Places an inbound call like the carrier: POSTs the signed answer webhook (CallUUID, From, To,
 * Direction=inbound, CallStatus=ringing), reads the XML, and either opens the media stream (which
 * must be bidirectional with keepCallAlive, or the real carrier would hang up) or reports what was
 * spoken before the hang-up.
 */
export async function placePlivoFamilyInboundCall(
  flavour: PlivoSimulatorFlavour,
  options: PlivoInboundCallOptions,
): Promise<PlivoInboundCallResult> {
  const callUuid = options.callUuid ?? randomUUID();
  const form = new URLSearchParams({
    CallUUID: callUuid,
    From: options.from,
    To: options.to,
    Direction: 'inbound',
    CallStatus: 'ringing',
  });
  if (flavour.callbackEvents) form.set('Event', 'StartApp');
  const signatureUrl = options.signatureUrl ?? options.answerUrl;
  const reply = await postSignedForm(
    options.answerUrl,
    form,
    flavour.sign(options.authToken, signatureUrl, form),
  );
  if (reply.status !== 200)
    throw new Error(`${flavour.label} inbound call: the answer URL replied HTTP ${reply.status}`);
  const xml = reply.body;
  const verbs = parsePlivoXml(xml).children;
  const stream = verbs.find((verb) => verb.name === 'Stream');
  if (stream) {
    const { attributes } = stream;
    if (attributes['bidirectional'] !== 'true' || attributes['keepCallAlive'] !== 'true') {
      throw new Error(`${flavour.label} inbound call: <Stream> must be bidirectional with keepCallAlive`);
    }
    const contentType = attributes['contentType'] ?? 'audio/x-l16;rate=8000';
    if (contentType !== 'audio/x-mulaw;rate=8000' && contentType !== 'audio/x-l16;rate=8000') {
      throw new Error(`${flavour.label} inbound call: the simulator cannot stream ${contentType}`);
    }
    const streamUrl = stream.text;
    const extraHeaders = parseExtraHeadersAttribute(attributes['extraHeaders']);
    const caller = await PlivoCaller.connect(flavour, {
      ...options.caller,
      url: options.resolveMediaUrl ? options.resolveMediaUrl(streamUrl) : streamUrl,
      extraHeaders,
      callId: callUuid,
      contentType,
    });
    return { kind: 'stream', callUuid, xml, streamUrl, attributes, extraHeaders, caller };
  }
  if (verbs.some((verb) => verb.name === 'Hangup')) {
    return {
      kind: 'hangup',
      callUuid,
      xml,
      spoken: verbs.filter((verb) => verb.name === 'Speak').map((verb) => verb.text),
    };
  }
  throw new Error(
    `${flavour.label} inbound call: unexpected XML elements ${verbs.map((verb) => verb.name).join(', ')}`,
  );
}
