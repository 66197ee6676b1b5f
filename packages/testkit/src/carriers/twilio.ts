// Twilio's HTTP side, simulated (reference/wire-protocols.md §1.4–1.5), for tests and the bench:
// - startTwilioRestSimulator(): the Calls endpoints Parley uses (create; update with Status, Twiml or
//   Url) behind HTTP Basic auth, recording every request, answering with Twilio-shaped JSON; plus the
//   other half of an outbound call: signed status callbacks, the async AMD verdict, and "answering"
//   by fetching the call's Url as Twilio does. An update ends the call's attached media stream, as
//   replacing a call's TwiML ends its `<Connect><Stream>`.
// - placeTwilioInboundCall(): an inbound call as Twilio places it — the signed voice webhook, then,
//   when the TwiML says <Connect><Stream>, the media WebSocket (signed over the wss:// URL) through the
//   Twilio caller simulator with the <Parameter>s as custom parameters.
// Signing is implemented here independently of @parley/telephony, so the two check each other.
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTwilioCaller } from '../twilio-caller.js';
import { AnsweringMachine, type AnsweringMachineOptions, type MachineLine } from './answering-machine.js';
import type { TwilioCaller, TwilioCallerOptions } from '../twilio-caller.js';
import { SimulatorErrors } from './simulator-errors.js';

// --- signing -----------------------------------------------------------------------------------------

/** X-Twilio-Signature as Twilio computes it: base64 HMAC-SHA1 of the URL + sorted name/value pairs. */
export function signTwilioRequest(
  authToken: string,
  url: string,
  fields: URLSearchParams = new URLSearchParams(),
): string {
  const names = [...new Set(fields.keys())].sort();
  let data = url;
  for (const name of names) {
    for (const value of [...new Set(fields.getAll(name))].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** POSTs form fields signed like a Twilio webhook; resolves with the reply. */
async function postSigned(
  url: string,
  authToken: string,
  fields: URLSearchParams,
  signatureUrl = url,
): Promise<{ status: number; body: string; contentType: string | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-twilio-signature': signTwilioRequest(authToken, signatureUrl, fields),
      'user-agent': 'TwilioProxy/1.1',
    },
    body: fields.toString(),
  });
  return {
    status: response.status,
    body: await response.text(),
    contentType: response.headers.get('content-type'),
  };
}

// --- a small TwiML reader --------------------------------------------------------------------------

export interface TwimlElement {
  name: string;
  attributes: Record<string, string>;
  children: TwimlElement[];
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

/** Parses a TwiML document (elements, attributes, text; no DTDs or CDATA). Throws on malformed XML. */
export function parseTwiml(xml: string): TwimlElement {
  let position = 0;
  const root: TwimlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: TwimlElement[] = [root];
  const skip = (pattern: RegExp): boolean => {
    pattern.lastIndex = position;
    const match = pattern.exec(xml);
    if (match === null) return false;
    position = pattern.lastIndex;
    return true;
  };
  while (position < xml.length) {
    if (skip(/<\?[\s\S]*?\?>/y) || skip(/<!--[\s\S]*?-->/y)) continue;
    const current = stack[stack.length - 1]!;
    if (xml[position] !== '<') {
      const end = xml.indexOf('<', position);
      const text = xml.slice(position, end === -1 ? xml.length : end);
      current.text += decodeEntities(text);
      position = end === -1 ? xml.length : end;
      continue;
    }
    TAG.lastIndex = position;
    const match = TAG.exec(xml);
    if (match === null) throw new Error(`TwiML: malformed tag at offset ${position}`);
    position = TAG.lastIndex;
    const [, closing, name, rawAttributes, selfClosing] = match;
    if (closing) {
      if (current.name !== name) throw new Error(`TwiML: </${name}> closes <${current.name}>`);
      current.text = current.text.trim();
      stack.pop();
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const attribute of rawAttributes!.matchAll(ATTRIBUTE)) {
      attributes[attribute[1]!] = decodeEntities(attribute[2] ?? attribute[3] ?? '');
    }
    const element: TwimlElement = { name: name!, attributes, children: [], text: '' };
    current.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length !== 1) throw new Error(`TwiML: <${stack[stack.length - 1]!.name}> is never closed`);
  const response = root.children[0];
  if (root.children.length !== 1 || response?.name !== 'Response') {
    throw new Error('TwiML: the document must have exactly one <Response> root');
  }
  return response;
}

// --- REST simulator --------------------------------------------------------------------------------

export interface RecordedTwilioRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  form: URLSearchParams;
  /** The Basic auth user name, or null when there was none. */
  authUser: string | null;
  /** Whether the credentials were the account's. */
  authorized: boolean;
  /** The HTTP status the simulator answered with. */
  responseStatus: number;
}

/** A callback the simulator POSTed to Parley, with Parley's reply. */
export interface SentTwilioCallback {
  kind: 'status' | 'amd' | 'answer';
  url: string;
  form: URLSearchParams;
  responseStatus: number;
  responseBody: string;
}

export type TwilioSimulatedCallStatus =
  | 'queued'
  | 'initiated'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'no-answer'
  | 'failed'
  | 'canceled';

export interface TwilioSimulatedCall {
  sid: string;
  to: string;
  from: string;
  status: TwilioSimulatedCallStatus;
  /** The fields of the create request. */
  createForm: URLSearchParams;
  /** TwiML documents and URLs the call was redirected to by updates, in order. */
  redirects: ({ twiml: string } | { url: string })[];
  answeredAtMs: number | null;
}

/** A canned error for the next REST request (to test error mapping). */
export interface InjectedTwilioError {
  status: number;
  code?: number;
  message?: string;
  /** A raw body instead of Twilio's JSON error (an HTML page from a proxy, say). */
  rawBody?: string;
}

export interface TwilioRestSimulatorOptions {
  accountSid?: string;
  authToken?: string;
}

const FINAL_STATUSES = new Set<TwilioSimulatedCallStatus>([
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
]);
const DEFAULT_SIP_CODES: Partial<Record<TwilioSimulatedCallStatus, string>> = {
  completed: '200',
  busy: '486',
  'no-answer': '487',
  failed: '500',
};

export async function startTwilioRestSimulator(
  options: TwilioRestSimulatorOptions = {},
): Promise<TwilioRestSimulator> {
  const simulator = new TwilioRestSimulator(
    options.accountSid ?? sid('AC'),
    options.authToken ?? randomBytes(16).toString('hex'),
  );
  await simulator.listen();
  return simulator;
}

export class TwilioRestSimulator {
  /** http://127.0.0.1:port — give it to TwilioCallControl as `baseUrl`. */
  baseUrl = '';
  readonly requests: RecordedTwilioRequest[] = [];
  readonly callbacks: SentTwilioCallback[] = [];
  readonly calls = new Map<string, TwilioSimulatedCall>();
  /** What the simulator failed at on its own (a media stream it could not end, ...). */
  readonly errors = new SimulatorErrors('Twilio');
  private readonly server: Server;
  private readonly injected: InjectedTwilioError[] = [];
  private readonly sequenceNumbers = new Map<string, number>();
  /** Each call's connected media stream, which an update replacing the call's TwiML ends. */
  private readonly streams = new Map<string, TwilioCaller>();

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
  ) {
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
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next REST request is answered with this error instead (one per call, in order). */
  failNextRequest(error: InjectedTwilioError): void {
    this.injected.push(error);
  }

  /** Requests to one call's update endpoint, in order. */
  updatesOf(callSid: string): RecordedTwilioRequest[] {
    return this.requests.filter((request) => request.path.endsWith(`/Calls/${callSid}.json`));
  }

  call(callSid: string): TwilioSimulatedCall {
    const call = this.calls.get(callSid);
    if (!call) throw new Error(`Twilio simulator: no call ${callSid}`);
    return call;
  }

  /**
   * The call's `<Connect><Stream>` is connected to `stream`: from now on an update that replaces the
   * call's TwiML (or ends the call) ends that stream as Twilio does — `stop`, then the socket closes.
   */
  attachStream(callSid: string, stream: TwilioCaller): void {
    this.call(callSid);
    this.streams.set(callSid, stream);
  }

  /** Moves a call to a status without telling Parley (the callbacks are `sendStatus`). */
  setCallStatus(callSid: string, status: TwilioSimulatedCallStatus): void {
    const call = this.call(callSid);
    call.status = status;
    if (status === 'in-progress') call.answeredAtMs ??= Date.now();
  }

  /**
   * Posts a signed status callback to the call's StatusCallback, as Twilio does for each progress
   * event. Final statuses carry CallDuration and SipResponseCode (overridable through `extra`).
   */
  async sendStatus(
    callSid: string,
    status: TwilioSimulatedCallStatus,
    extra: Record<string, string> = {},
  ): Promise<SentTwilioCallback> {
    const call = this.call(callSid);
    const url = call.createForm.get('StatusCallback');
    if (!url) throw new Error(`Twilio simulator: call ${callSid} has no StatusCallback`);
    call.status = status;
    if (status === 'in-progress') call.answeredAtMs ??= Date.now();
    const sequenceNumber = this.sequenceNumbers.get(callSid) ?? 0;
    this.sequenceNumbers.set(callSid, sequenceNumber + 1);
    const form = this.callFields(call, status);
    form.set('CallbackSource', 'call-progress-events');
    form.set('SequenceNumber', String(sequenceNumber));
    form.set('Timestamp', new Date().toUTCString());
    if (FINAL_STATUSES.has(status)) {
      const answeredAt = call.answeredAtMs;
      form.set(
        'CallDuration',
        String(answeredAt === null ? 0 : Math.round((Date.now() - answeredAt) / 1000)),
      );
      const sipCode = DEFAULT_SIP_CODES[status];
      if (sipCode) form.set('SipResponseCode', sipCode);
    }
    for (const [name, value] of Object.entries(extra)) form.set(name, value);
    return this.deliver('status', url, form);
  }

  /** Posts the async AMD verdict to the call's AsyncAmdStatusCallback. */
  async sendAmdResult(
    callSid: string,
    answeredBy:
      | 'human'
      | 'machine_start'
      | 'machine_end_beep'
      | 'machine_end_silence'
      | 'machine_end_other'
      | 'fax'
      | 'unknown',
    machineDetectionDurationMs = 2300,
  ): Promise<SentTwilioCallback> {
    const call = this.call(callSid);
    const url = call.createForm.get('AsyncAmdStatusCallback');
    if (!url) throw new Error(`Twilio simulator: call ${callSid} did not ask for async AMD`);
    const form = new URLSearchParams({
      AccountSid: this.accountSid,
      CallSid: call.sid,
      AnsweredBy: answeredBy,
      MachineDetectionDuration: String(machineDetectionDurationMs),
    });
    return this.deliver('amd', url, form);
  }

  /**
   * An answering machine took the call (answered, its media stream connected as `line`): it plays its
   * greeting, and at its beep Twilio's DetectMessageEnd verdict (`machine_end_beep`) is POSTed to the
   * AsyncAmdStatusCallback, as Twilio reports it once the greeting is over. Resolves with the machine,
   * which records what it hears after the beep, and the callback Parley answered.
   */
  async answerByMachine(
    callSid: string,
    line: MachineLine,
    options: AnsweringMachineOptions = {},
  ): Promise<{ machine: AnsweringMachine; callback: SentTwilioCallback }> {
    const machine = new AnsweringMachine(line);
    const startedAt = performance.now();
    // DetectMessageEnd's verdict comes at the greeting's end, so nothing can cut the greeting short.
    await machine.playGreeting(options);
    const callback = await this.sendAmdResult(
      callSid,
      'machine_end_beep',
      Math.round(performance.now() - startedAt),
    );
    return { machine, callback };
  }

  /**
   * The callee picks up: the call goes in-progress and Twilio fetches its Url (a signed POST with the
   * call's fields). Resolves with the TwiML Parley answered (or the Twiml given on create).
   */
  async answer(callSid: string): Promise<{ twiml: string; callback: SentTwilioCallback | null }> {
    const call = this.call(callSid);
    call.status = 'in-progress';
    call.answeredAtMs ??= Date.now();
    const url = call.createForm.get('Url');
    if (!url) return { twiml: call.createForm.get('Twiml') ?? '', callback: null };
    const callback = await this.deliver('answer', url, this.callFields(call, 'in-progress'));
    if (callback.responseStatus !== 200) {
      throw new Error(`Twilio simulator: the answer URL replied HTTP ${callback.responseStatus}`);
    }
    return { twiml: callback.responseBody, callback };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- requests ------------------------------------------------------------------------------------

  private callFields(call: TwilioSimulatedCall, status: TwilioSimulatedCallStatus): URLSearchParams {
    return new URLSearchParams({
      AccountSid: this.accountSid,
      CallSid: call.sid,
      From: call.from,
      To: call.to,
      CallStatus: status,
      Direction: 'outbound-api',
      ApiVersion: '2010-04-01',
    });
  }

  private async deliver(
    kind: SentTwilioCallback['kind'],
    url: string,
    form: URLSearchParams,
  ): Promise<SentTwilioCallback> {
    const reply = await postSigned(url, this.authToken, form);
    const callback: SentTwilioCallback = {
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
    const path = (request.url ?? '/').split('?')[0]!;
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const { user, password } = basicCredentials(request.headers.authorization);
    const authorized = user === this.accountSid && password === this.authToken;
    const recorded: RecordedTwilioRequest = {
      method: request.method ?? 'GET',
      path,
      form,
      authUser: user,
      authorized,
      responseStatus: 0,
    };
    this.requests.push(recorded);
    const reply = (status: number, body: unknown): void => {
      recorded.responseStatus = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      response.writeHead(status, {
        'content-type': typeof body === 'string' ? 'text/html' : 'application/json',
      });
      response.end(text);
    };
    const fail = (status: number, code: number, message: string): void =>
      reply(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

    if (!authorized) return fail(401, 20003, 'Authenticate');
    const injected = this.injected.shift();
    if (injected) {
      if (injected.rawBody !== undefined) return reply(injected.status, injected.rawBody);
      return fail(injected.status, injected.code ?? 20500, injected.message ?? 'Internal Server Error');
    }
    const prefix = `/2010-04-01/Accounts/${this.accountSid}/Calls`;
    if (request.method !== 'POST' || !path.startsWith(prefix)) {
      return fail(404, 20404, `The requested resource ${path} was not found`);
    }
    const rest = path.slice(prefix.length);
    if (rest === '.json') return this.createCall(form, reply, fail);
    const match = /^\/(CA[0-9a-zA-Z]+)\.json$/.exec(rest);
    if (match) return this.updateCall(match[1]!, path, form, reply, fail);
    return fail(404, 20404, `The requested resource ${path} was not found`);
  }

  private createCall(
    form: URLSearchParams,
    reply: (status: number, body: unknown) => void,
    fail: (status: number, code: number, message: string) => void,
  ): void {
    const to = form.get('To');
    const from = form.get('From');
    // Twilio's codes for these: 21201 (no To), 21603 (no From); 21205 stands in for "no TwiML source".
    if (!to) return fail(400, 21201, "No 'To' number is specified");
    if (!from) return fail(400, 21603, "A 'From' phone number is required.");
    if (!form.get('Url') && !form.get('Twiml') && !form.get('ApplicationSid')) {
      return fail(400, 21205, 'Url parameter is required.');
    }
    const call: TwilioSimulatedCall = {
      sid: sid('CA'),
      to,
      from,
      status: 'queued',
      createForm: form,
      redirects: [],
      answeredAtMs: null,
    };
    this.calls.set(call.sid, call);
    reply(201, this.callResource(call));
  }

  private updateCall(
    callSid: string,
    path: string,
    form: URLSearchParams,
    reply: (status: number, body: unknown) => void,
    fail: (status: number, code: number, message: string) => void,
  ): void {
    const call = this.calls.get(callSid);
    if (!call) return fail(404, 20404, `The requested resource ${path} was not found`);
    const status = form.get('Status');
    const twiml = form.get('Twiml');
    const url = form.get('Url');
    if (status !== null) {
      if (status !== 'completed' && status !== 'canceled') return fail(400, 21218, 'Invalid Status');
      if (!FINAL_STATUSES.has(call.status)) {
        // `canceled` only ends a call that has not been answered; `completed` ends any call.
        if (status === 'completed') call.status = 'completed';
        else if (call.status !== 'in-progress') call.status = 'canceled';
      }
    } else if (twiml !== null || url !== null) {
      if (call.status !== 'in-progress') return fail(400, 21220, 'Call is not in-progress. Cannot redirect.');
      call.redirects.push(twiml !== null ? { twiml } : { url: url! });
    } else {
      return fail(400, 21218, 'No update was requested');
    }
    reply(200, this.callResource(call));
    const stream = this.streams.get(callSid);
    if (stream) {
      this.streams.delete(callSid);
      // The stream's verb is over: on the wire Twilio ends it exactly as when the caller hangs up.
      this.errors.watch('ending the media stream', stream.hangUp());
    }
  }

  private callResource(call: TwilioSimulatedCall): Record<string, unknown> {
    const now = new Date().toUTCString();
    return {
      sid: call.sid,
      account_sid: this.accountSid,
      to: call.to,
      from: call.from,
      status: call.status,
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${call.sid}.json`,
    };
  }
}

function basicCredentials(header: string | undefined): { user: string | null; password: string | null } {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return { user: null, password: null };
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return { user: decoded, password: null };
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// --- inbound calls ---------------------------------------------------------------------------------

export interface TwilioInboundCallOptions {
  /** Where the voice webhook is POSTed (Parley's local address in tests). */
  voiceUrl: string;
  authToken: string;
  from: string;
  to: string;
  callSid?: string;
  accountSid?: string;
  /** The URL Twilio signs: the number's configured (public) voice URL. Default `voiceUrl`. */
  signatureUrl?: string;
  /**
   * Where to open the media socket for a `<Stream url>`; default the URL itself. Lets a TwiML that
   * names the public wss:// URL reach a local server, while the signature still covers the public URL.
   */
  resolveMediaUrl?: (streamUrl: string) => string;
  /** Passed to the Twilio caller (clock, recordAudio, ...). */
  caller?: Omit<TwilioCallerOptions, 'url' | 'customParameters' | 'callSid' | 'accountSid' | 'headers'>;
}

export type TwilioInboundCallResult =
  | {
      kind: 'stream';
      callSid: string;
      twiml: string;
      /** The `<Stream url>` as written in the TwiML. */
      streamUrl: string;
      parameters: Record<string, string>;
      caller: TwilioCaller;
    }
  | {
      kind: 'hangup';
      callSid: string;
      twiml: string;
      /** Each `<Say>`, in order. */
      spoken: string[];
    };

/**
 * Places an inbound call like Twilio: POSTs the signed voice webhook (CallSid, AccountSid, From, To,
 * Direction=inbound, CallStatus=ringing), reads the TwiML, and either opens the media stream or
 * reports what was said before the hang-up. Rejects when the webhook does not answer 200 with TwiML
 * of one of those two shapes.
 */
export async function placeTwilioInboundCall(
  options: TwilioInboundCallOptions,
): Promise<TwilioInboundCallResult> {
  const callSid = options.callSid ?? sid('CA');
  const accountSid = options.accountSid ?? sid('AC');
  const form = new URLSearchParams({
    AccountSid: accountSid,
    ApiVersion: '2010-04-01',
    CallSid: callSid,
    CallStatus: 'ringing',
    Direction: 'inbound',
    From: options.from,
    To: options.to,
    Caller: options.from,
    Called: options.to,
  });
  const reply = await postSigned(
    options.voiceUrl,
    options.authToken,
    form,
    options.signatureUrl ?? options.voiceUrl,
  );
  if (reply.status !== 200) {
    throw new Error(`Twilio inbound call: the voice webhook replied HTTP ${reply.status}`);
  }
  const twiml = reply.body;
  const response = parseTwiml(twiml);
  const verbs = response.children;

  const connect = verbs.find((verb) => verb.name === 'Connect');
  const stream = connect?.children.find((noun) => noun.name === 'Stream');
  if (stream) {
    const streamUrl = stream.attributes['url'];
    if (!streamUrl) throw new Error('Twilio inbound call: <Stream> has no url');
    const parameters: Record<string, string> = {};
    for (const parameter of stream.children.filter((child) => child.name === 'Parameter')) {
      const name = parameter.attributes['name'];
      if (name) parameters[name] = parameter.attributes['value'] ?? '';
    }
    const caller = await startTwilioCaller({
      ...options.caller,
      url: options.resolveMediaUrl ? options.resolveMediaUrl(streamUrl) : streamUrl,
      customParameters: parameters,
      callSid,
      accountSid,
      // The upgrade is signed over the stream URL as written (wss://…), with no params.
      headers: { 'x-twilio-signature': signTwilioRequest(options.authToken, streamUrl) },
    });
    return { kind: 'stream', callSid, twiml, streamUrl, parameters, caller };
  }

  if (
    verbs.some((verb) => verb.name === 'Hangup' || verb.name === 'Reject') ||
    verbs.every((verb) => verb.name === 'Say')
  ) {
    return {
      kind: 'hangup',
      callSid,
      twiml,
      spoken: verbs.filter((verb) => verb.name === 'Say').map((verb) => verb.text),
    };
  }
  throw new Error(`Twilio inbound call: unexpected TwiML verbs ${verbs.map((verb) => verb.name).join(', ')}`);
}
