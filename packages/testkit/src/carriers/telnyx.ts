// Telnyx, simulated for tests and the bench (reference/wire-protocols.md §4).
//
// TelnyxRestSimulator: an HTTP server on 127.0.0.1 that accepts what Parley sends Telnyx Call Control
// (`POST /v2/calls`, `POST /v2/calls/{id}/actions/{answer|hangup|transfer|send_dtmf|streaming_start}`,
// Bearer API key, JSON), records every request, answers as Telnyx does (`{"data": …}` or
// `{"errors": [{"code", "title", "detail"}]}`), and posts webhook events signed with an Ed25519 key
// pair it generates (`telnyx-signature-ed25519` over `${telnyx-timestamp}|${body}`); its public key
// is `publicKeyBase64`, in the form Telnyx's portal shows. Of the error codes only 90018 ("call has
// already ended") is Telnyx's documented one; the others are placeholders.
//
// TelnyxCaller: opens the media WebSocket as Telnyx does (`connected`, then `start` with the call's
// ids, client_state, custom parameters and codec), streams the caller's line as 20 ms RTP payloads
// (PCMU or PCMA) on absolute deadlines, and records what comes back. Marks are echoed when the media
// before them has played, and at once on `clear` (both documented by Telnyx).
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ALAW_SILENCE,
  decodeAlaw,
  decodeMulaw,
  encodeAlaw,
  encodeMulaw,
  MULAW_SILENCE,
  pcm16Dbfs,
  systemClock,
} from '@parley/voice';
import type { Clock } from '@parley/voice';
import WebSocket from 'ws';
import { AnsweringMachine, type AnsweringMachineOptions, type MachineLine } from './answering-machine.js';
import type { RawData } from 'ws';
import { loadFixture } from '../fixtures.js';
import type { FixtureName } from '../fixtures.js';
import { sharedFrameTicker } from '../frame-ticker.js';
import type { FrameTicker, TickerClient } from '../frame-ticker.js';
import { PhonePlayout } from '../phone-playout.js';

// =====================================================================================================
// REST simulator
// =====================================================================================================

export interface TelnyxRestSimulatorOptions {
  apiKey?: string;
  connectionId?: string;
}

export interface TelnyxRecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (null when it was not JSON). */
  json: Record<string, unknown> | null;
  authorized: boolean;
  /** The action (`answer`, `hangup`, …) for `/v2/calls/{id}/actions/{action}`, else null. */
  action: string | null;
  callControlId: string | null;
}

export interface TelnyxSimulatedCall {
  callControlId: string;
  callSessionId: string;
  callLegId: string;
  direction: 'incoming' | 'outgoing';
  from: string;
  to: string;
  webhookUrl: string | null;
  /** The base64 client_state of the last command that set one. */
  clientState: string | null;
  streamUrl: string | null;
  /** The dial's `answering_machine_detection` (`greeting_end`, `detect`, …), or null. */
  answeringMachineDetection: string | null;
  ended: boolean;
}

export interface TelnyxWebhookOptions {
  /** Fields merged into `data.payload` (e.g. `hangup_cause`, `result`). */
  payload?: Record<string, unknown>;
  /** Unix seconds for `telnyx-timestamp`; default now. */
  timestamp?: number;
  /** Posts to this URL instead of the call's webhook URL. */
  url?: string;
  /** Changes the body after signing it (a forged or corrupted delivery). */
  tamper?: (body: string) => string;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function errorBody(code: string, title: string): unknown {
  return { errors: [{ code, title, detail: title }] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Starts a Telnyx Call Control simulator on 127.0.0.1 (a free port). */
export function startTelnyxRestSimulator(
  options: TelnyxRestSimulatorOptions = {},
): Promise<TelnyxRestSimulator> {
  return TelnyxRestSimulator.start(options);
}

export class TelnyxRestSimulator {
  readonly apiKey: string;
  readonly connectionId: string;
  /** `http://127.0.0.1:port`: the `baseUrl` for TelnyxCallControl. */
  readonly baseUrl: string;
  /** The webhook signing key's public half: base64 of its 32 raw bytes, as Telnyx's portal shows it. */
  readonly publicKeyBase64: string;
  readonly requests: TelnyxRecordedRequest[] = [];
  readonly calls = new Map<string, TelnyxSimulatedCall>();
  private readonly privateKey: KeyObject;
  private readonly failures: { status: number; body: unknown }[] = [];

  static async start(options: TelnyxRestSimulatorOptions = {}): Promise<TelnyxRestSimulator> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new TelnyxRestSimulator(server, options);
  }

  private constructor(
    private readonly server: Server,
    options: TelnyxRestSimulatorOptions,
  ) {
    this.apiKey = options.apiKey ?? 'KEY_telnyx_test';
    this.connectionId = options.connectionId ?? '1234567890';
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.publicKeyBase64 = Buffer.from(jwk.x!, 'base64url').toString('base64');
    server.on('request', (request, response) => {
      void this.handle(request, response).catch(() => {
        if (!response.headersSent) sendJson(response, 500, errorBody('10000', 'Internal error'));
      });
    });
  }

  /** The next request is answered with this status and Telnyx error code instead of being served. */
  failNext(status: number, code = '10000'): void {
    this.failures.push({ status, body: errorBody(code, 'Simulated failure') });
  }

  /** An inbound call ringing at the application, as Telnyx would announce it with call.initiated. */
  addIncomingCall(options: { from?: string; to?: string; webhookUrl: string }): TelnyxSimulatedCall {
    const call = this.newCall('incoming', options.from ?? '+15550000001', options.to ?? '+15550000002');
    call.webhookUrl = options.webhookUrl;
    return call;
  }

  /** Marks a call ended (as after call.hangup): later commands on it fail with 90018. */
  endCall(callControlId: string): void {
    const call = this.calls.get(callControlId);
    if (call) call.ended = true;
  }

  /** The Ed25519 signature Telnyx would send for `body` at `timestamp` (base64). */
  sign(body: string, timestamp: number | string): string {
    return sign(null, Buffer.from(`${timestamp}|${body}`, 'utf8'), this.privateKey).toString('base64');
  }

  /** The JSON body of a Call Control webhook for `call`. */
  webhookBody(call: TelnyxSimulatedCall, eventType: string, payload: Record<string, unknown> = {}): string {
    return JSON.stringify({
      data: {
        record_type: 'event',
        event_type: eventType,
        id: randomUUID(),
        occurred_at: new Date().toISOString(),
        payload: {
          call_control_id: call.callControlId,
          call_leg_id: call.callLegId,
          call_session_id: call.callSessionId,
          connection_id: this.connectionId,
          client_state: call.clientState,
          direction: call.direction,
          from: call.from,
          to: call.to,
          ...payload,
        },
      },
      meta: { attempt: 1, delivered_to: call.webhookUrl },
    });
  }

  /** Posts a signed webhook event for a call to its webhook URL; resolves with our server's status. */
  async sendWebhook(
    callControlId: string,
    eventType: string,
    options: TelnyxWebhookOptions = {},
  ): Promise<{ status: number }> {
    const call = this.calls.get(callControlId);
    if (!call) throw new Error(`Telnyx simulator: no call ${callControlId}`);
    const url = options.url ?? call.webhookUrl;
    if (!url) throw new Error(`Telnyx simulator: call ${callControlId} has no webhook URL`);
    if (eventType === 'call.hangup') call.ended = true;
    const body = this.webhookBody(call, eventType, options.payload);
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'telnyx-timestamp': timestamp,
        'telnyx-signature-ed25519': this.sign(body, timestamp),
      },
      body: options.tamper ? options.tamper(body) : body,
    });
    await response.arrayBuffer();
    return { status: response.status };
  }

  /**
   * An answering machine took the call (answered, its media stream connected as `line`), as Telnyx's
   * detection reports it: `call.machine.detection.ended` (result `machine`) while the greeting plays,
   * then, at the beep, `call.machine.greeting.ended` (result `beep_detected`) when the dial asked for
   * a mode that reports it (`greeting_end`, `detect_beep`, `detect_words`). Resolves with the machine,
   * which records what it hears after the beep, Parley's reply statuses, and when the machine verdict
   * was sent (`verdictAtMs`: performance.now(), the callers' default clock, to compare with `closedAtMs`).
   */
  async answerByMachine(
    callControlId: string,
    line: MachineLine,
    options: AnsweringMachineOptions = {},
  ): Promise<{ machine: AnsweringMachine; statuses: number[]; verdictAtMs: number }> {
    const call = this.calls.get(callControlId);
    if (!call?.answeringMachineDetection) {
      throw new Error(`Telnyx simulator: call ${callControlId} was not dialled with machine detection`);
    }
    const machine = new AnsweringMachine(line);
    const greeting = machine.playGreeting(options);
    const verdictAtMs = performance.now();
    const statuses = [
      (
        await this.sendWebhook(callControlId, 'call.machine.detection.ended', {
          payload: { result: 'machine' },
        })
      ).status,
    ];
    // Hung up during the greeting: no beep, and no greeting end to report.
    const beepAtMs = await greeting;
    const reportsGreetingEnd = ['greeting_end', 'detect_beep', 'detect_words'];
    if (beepAtMs !== null && reportsGreetingEnd.includes(call.answeringMachineDetection)) {
      const ended = await this.sendWebhook(callControlId, 'call.machine.greeting.ended', {
        payload: { result: 'beep_detected' },
      });
      statuses.push(ended.status);
    }
    return { machine, statuses, verdictAtMs };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private newCall(direction: 'incoming' | 'outgoing', from: string, to: string): TelnyxSimulatedCall {
    const call: TelnyxSimulatedCall = {
      callControlId: `v3:${randomBytes(24).toString('base64url')}`,
      callSessionId: randomUUID(),
      callLegId: randomUUID(),
      direction,
      from,
      to,
      webhookUrl: null,
      clientState: null,
      streamUrl: null,
      answeringMachineDetection: null,
      ended: false,
    };
    this.calls.set(call.callControlId, call);
    return call;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request);
    const path = new URL(request.url ?? '/', this.baseUrl).pathname;
    let json: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = JSON.parse(text);
      json = isRecord(parsed) ? parsed : null;
    } catch {
      json = null;
    }
    const authorized = request.headers.authorization === `Bearer ${this.apiKey}`;
    const actionMatch = /^\/v2\/calls\/([^/]+)\/actions\/([a-z_]+)$/.exec(path);
    const callControlId = actionMatch ? decodeURIComponent(actionMatch[1]!) : null;
    const action = actionMatch ? actionMatch[2]! : null;
    this.requests.push({
      method: request.method ?? '',
      path,
      headers: request.headers,
      json,
      authorized,
      action,
      callControlId,
    });
    const failure = this.failures.shift();
    if (failure) return sendJson(response, failure.status, failure.body);
    if (!authorized) return sendJson(response, 401, errorBody('10009', 'Authentication failed'));
    if (request.method !== 'POST' || json === null)
      return sendJson(response, 400, errorBody('10015', 'Bad request'));
    if (path === '/v2/calls') return this.dial(json, response);
    if (!actionMatch) return sendJson(response, 404, errorBody('10005', 'Resource not found'));
    const call = this.calls.get(callControlId!);
    if (!call) return sendJson(response, 404, errorBody('10005', 'Resource not found'));
    if (call.ended) return sendJson(response, 422, errorBody('90018', 'Call has already ended'));
    switch (action) {
      case 'answer':
      case 'streaming_start':
        if (typeof json['stream_url'] === 'string') call.streamUrl = json['stream_url'];
        break;
      case 'hangup':
        call.ended = true;
        break;
      case 'transfer':
        if (typeof json['to'] !== 'string')
          return sendJson(response, 422, errorBody('10015', 'to is required'));
        break;
      case 'send_dtmf':
        if (typeof json['digits'] !== 'string')
          return sendJson(response, 422, errorBody('10015', 'digits is required'));
        break;
      default:
        return sendJson(response, 404, errorBody('10005', 'Resource not found'));
    }
    if (typeof json['client_state'] === 'string') call.clientState = json['client_state'];
    sendJson(response, 200, { data: { result: 'ok' } });
  }

  private dial(json: Record<string, unknown>, response: ServerResponse): void {
    const missing = ['connection_id', 'to', 'from'].find((field) => typeof json[field] !== 'string');
    if (missing) return sendJson(response, 422, errorBody('10015', `${missing} is required`));
    if (json['connection_id'] !== this.connectionId)
      return sendJson(response, 422, errorBody('10015', 'Invalid connection_id'));
    const call = this.newCall('outgoing', json['from'] as string, json['to'] as string);
    call.webhookUrl = typeof json['webhook_url'] === 'string' ? json['webhook_url'] : null;
    call.clientState = typeof json['client_state'] === 'string' ? json['client_state'] : null;
    call.streamUrl = typeof json['stream_url'] === 'string' ? json['stream_url'] : null;
    const amd = json['answering_machine_detection'];
    call.answeringMachineDetection = typeof amd === 'string' && amd !== 'disabled' ? amd : null;
    sendJson(response, 200, {
      data: {
        call_control_id: call.callControlId,
        call_leg_id: call.callLegId,
        call_session_id: call.callSessionId,
        is_alive: false,
        record_type: 'call',
        client_state: call.clientState,
      },
    });
  }
}

// =====================================================================================================
// Caller simulator
// =====================================================================================================

const FRAME_MS = 20;
/** 20 ms of G.711 at 8 kHz. */
const FRAME_BYTES = 160;
const DTMF_DIGIT = /^[0-9*#A-D]$/;

export interface TelnyxCallerOptions {
  /** The server's media WebSocket URL (ws://127.0.0.1:port/...). */
  url: string;
  callControlId?: string;
  streamId?: string;
  callSessionId?: string;
  from?: string;
  to?: string;
  /** The base64 client_state of the command that started the stream. */
  clientState?: string;
  customParameters?: Record<string, string>;
  /** Both directions; default PCMU. */
  codec?: 'PCMU' | 'PCMA';
  /** The stream_auth_token: sent as the `x-telnyx-streaming-auth-token` header and in `connected`. */
  authToken?: string;
  headers?: Record<string, string>;
  clock?: Clock;
  /** Keep the agent's decoded samples for `heardAudio()` and `received`. Default true. */
  recordAudio?: boolean;
  /** Agent frames quieter than this count as silent. Default -50 dBFS. */
  silenceThresholdDbfs?: number;
  connectTimeoutMs?: number;
}

export interface TelnyxReceivedMedia {
  kind: 'media';
  atMs: number;
  playsAtMs: number;
  byteLength: number;
  durationMs: number;
  levelDbfs: number;
  isSilent: boolean;
  samples: Int16Array | null;
}

export interface TelnyxReceivedMark {
  kind: 'mark';
  atMs: number;
  name: string;
  echoedAtMs: number | null;
}

export interface TelnyxReceivedClear {
  kind: 'clear';
  atMs: number;
  discardedMs: number;
}

/** A message Telnyx would reject or ignore (bad JSON, media under 20 ms, mark without a name, ...). */
export interface TelnyxReceivedInvalid {
  kind: 'invalid';
  atMs: number;
  reason: string;
  text: string;
}

export type TelnyxCallerReceived =
  TelnyxReceivedMedia | TelnyxReceivedMark | TelnyxReceivedClear | TelnyxReceivedInvalid;

export interface TelnyxPlaybackTimes {
  startedAtMs: number;
  endedAtMs: number;
}

interface QueuedPlay {
  payloads: string[];
  next: number;
  startedAtMs: number | null;
  resolve: (times: TelnyxPlaybackTimes) => void;
  reject: (error: Error) => void;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Connects a caller; resolves once `connected` and `start` are sent and the line is streaming. */
export function startTelnyxCaller(options: TelnyxCallerOptions): Promise<TelnyxCaller> {
  return TelnyxCaller.connect(options);
}

export class TelnyxCaller implements TickerClient {
  readonly callControlId: string;
  readonly streamId: string;
  readonly codec: 'PCMU' | 'PCMA';
  readonly startSentAtMs: number;
  readonly received: TelnyxCallerReceived[] = [];
  readonly nonSilentFrameTimes: number[] = [];
  readonly clears: number[] = [];
  readonly marksEchoed: { name: string; atMs: number }[] = [];
  closedAtMs: number | null = null;
  closeCode: number | null = null;
  closedBy: 'caller' | 'server' | null = null;

  private readonly clock: Clock;
  private readonly ticker: FrameTicker;
  private readonly playout: PhonePlayout<TelnyxReceivedMark>;
  private readonly silenceThresholdDbfs: number;
  private readonly recordAudio: boolean;
  private readonly silentPayload: string;
  private sequenceNumber = 0;
  private nextFrameIndex = 0;
  private readonly plays: QueuedPlay[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly closed: Promise<void>;

  static async connect(options: TelnyxCallerOptions): Promise<TelnyxCaller> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.authToken !== undefined) headers['x-telnyx-streaming-auth-token'] = options.authToken;
    const socket = new WebSocket(options.url, {
      headers,
      handshakeTimeout: options.connectTimeoutMs ?? 5000,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.off('open', onOpen);
        reject(new Error(`Telnyx caller could not connect to ${options.url}: ${error.message}`));
      };
      const onOpen = (): void => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('open', onOpen);
      socket.once('error', onError);
    });
    return new TelnyxCaller(socket, options);
  }

  private constructor(
    private readonly socket: WebSocket,
    options: TelnyxCallerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.callControlId = options.callControlId ?? `v3:${randomBytes(24).toString('base64url')}`;
    this.streamId = options.streamId ?? randomUUID();
    this.codec = options.codec ?? 'PCMU';
    this.silentPayload = Buffer.alloc(
      FRAME_BYTES,
      this.codec === 'PCMU' ? MULAW_SILENCE : ALAW_SILENCE,
    ).toString('base64');
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

    const connected: Record<string, unknown> = { event: 'connected', version: '1.0.0' };
    if (options.authToken !== undefined) connected['x-telnyx-streaming-auth-token'] = options.authToken;
    this.sendJson(connected);
    this.sendJson({
      event: 'start',
      sequence_number: this.nextSequenceNumber(),
      stream_id: this.streamId,
      start: {
        user_id: randomUUID(),
        call_control_id: this.callControlId,
        call_session_id: options.callSessionId ?? randomUUID(),
        from: options.from ?? '+15550000001',
        to: options.to ?? '+15550000002',
        client_state: options.clientState ?? null,
        custom_parameters: options.customParameters ?? {},
        media_format: { encoding: this.codec, sample_rate: 8000, channels: 1 },
      },
    });
    this.startSentAtMs = this.clock.now();
    this.playout = new PhonePlayout<TelnyxReceivedMark>({
      clock: this.clock,
      originMs: this.startSentAtMs,
      keepSamples: this.recordAudio,
      onMarkPlayed: (mark) => this.echoMark(mark),
    });
    this.ticker = sharedFrameTicker(this.clock);
    this.ticker.add(this);
  }

  // --- what the caller does ----------------------------------------------------------------------

  /** Says something (PCM16 8 kHz or a fixture), after anything already playing. Resolves with send times. */
  play(audio: Int16Array | FixtureName): Promise<TelnyxPlaybackTimes> {
    if (this.closedBy !== null) return Promise.reject(new Error('Telnyx caller: the call has ended'));
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
      sequence_number: this.nextSequenceNumber(),
      stream_id: this.streamId,
      occurred_at: new Date().toISOString(),
      dtmf: { digit },
    });
  }

  /** Sends a media-streaming `error` frame, as Telnyx does when something fails on its side. */
  sendError(code: number, title: string): void {
    this.sendJson({
      event: 'error',
      sequence_number: this.nextSequenceNumber(),
      stream_id: this.streamId,
      payload: { code, title, detail: title },
    });
  }

  /** The caller hangs up: `stop`, then the socket closes. Resolves once it has closed. */
  async hangUp(): Promise<void> {
    if (this.closedAtMs === null && this.closedBy === null) {
      this.closedBy = 'caller';
      this.sendJson({
        event: 'stop',
        sequence_number: this.nextSequenceNumber(),
        stream_id: this.streamId,
        stop: { call_control_id: this.callControlId },
      });
      this.stopLine('the caller hung up');
      this.socket.close(1000, 'caller hung up');
      const timer = setTimeout(() => this.socket.terminate(), 2000);
      await this.closed;
      clearTimeout(timer);
      return;
    }
    await this.closed;
  }

  /** Sends raw text, for tests of malformed input. */
  sendRaw(text: string): void {
    this.sendText(text);
  }

  // --- what the caller observed ------------------------------------------------------------------

  get marks(): TelnyxReceivedMark[] {
    return this.received.filter((message): message is TelnyxReceivedMark => message.kind === 'mark');
  }

  get media(): TelnyxReceivedMedia[] {
    return this.received.filter((message): message is TelnyxReceivedMedia => message.kind === 'media');
  }

  clearsAfter(afterMs: number): number[] {
    return this.clears.filter((atMs) => atMs > afterMs);
  }

  firstNonSilentOutboundAfter(afterMs: number): number | null {
    return this.nonSilentFrameTimes.find((atMs) => atMs > afterMs) ?? null;
  }

  /** The agent's audio as heard: PCM16 8 kHz from `start` until now (or the hang-up). Needs `recordAudio`. */
  heardAudio(): Int16Array {
    return this.playout.heardAudio(Math.min(this.clock.now(), this.closedAtMs ?? Infinity));
  }

  get bufferedOutboundMs(): number {
    return this.playout.bufferedMs(this.clock.now());
  }

  get framesSent(): number {
    return this.nextFrameIndex;
  }

  /** As ExotelCaller.waitFor: re-checked on every event, rejects on close or after `timeoutMs` wall time. */
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
          finish(() => reject(new Error('Telnyx caller: call closed before the condition was met')));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`Telnyx caller: condition not met within ${timeoutMs} ms`))),
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
  onDue(nowMs: number, dueByMs: number): void {
    while (this.closedBy === null && this.nextDueMs() <= dueByMs) this.sendFrame(nowMs);
    this.notify();
  }

  private framePayloads(samples: Int16Array): string[] {
    const encoded = this.codec === 'PCMU' ? encodeMulaw(samples) : encodeAlaw(samples);
    const payloads: string[] = [];
    for (let offset = 0; offset < encoded.length; offset += FRAME_BYTES) {
      const frame = Buffer.alloc(FRAME_BYTES, this.codec === 'PCMU' ? MULAW_SILENCE : ALAW_SILENCE);
      frame.set(encoded.subarray(offset, offset + FRAME_BYTES));
      payloads.push(frame.toString('base64'));
    }
    return payloads;
  }

  private sendFrame(nowMs: number): void {
    const index = this.nextFrameIndex++;
    const play = this.plays[0];
    let payload = this.silentPayload;
    let finished: QueuedPlay | null = null;
    if (play) {
      play.startedAtMs ??= nowMs;
      payload = play.payloads[play.next++]!;
      if (play.next >= play.payloads.length) finished = this.plays.shift()!;
    }
    this.sendJson({
      event: 'media',
      sequence_number: this.nextSequenceNumber(),
      stream_id: this.streamId,
      media: { track: 'inbound', chunk: String(index + 1), timestamp: String(index * FRAME_MS), payload },
    });
    if (finished) finished.resolve({ startedAtMs: finished.startedAtMs ?? nowMs, endedAtMs: nowMs });
  }

  private stopLine(reason: string): void {
    this.ticker.remove(this);
    this.playout.close();
    for (const play of this.plays.splice(0))
      play.reject(new Error(`Telnyx caller: ${reason} before the audio finished`));
  }

  // --- what the server sends -----------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    const atMs = this.clock.now();
    const text = isBinary ? '' : rawText(data);
    const invalid = (reason: string): void => {
      this.received.push({ kind: 'invalid', atMs, reason, text: text.slice(0, 200) });
    };
    if (isBinary) invalid('binary frame (Telnyx accepts JSON text only)');
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
      case 'media': {
        const media = message['media'];
        const payload = isRecord(media) ? media['payload'] : undefined;
        if (typeof payload !== 'string') return invalid('media without a payload');
        const bytes = Buffer.from(payload, 'base64');
        if (bytes.byteLength < FRAME_BYTES) return invalid('media shorter than 20 ms');
        this.onAgentAudio(bytes, atMs);
        return;
      }
      case 'mark': {
        const mark = message['mark'];
        const name = isRecord(mark) ? mark['name'] : undefined;
        if (typeof name !== 'string') return invalid('mark without mark.name');
        const received: TelnyxReceivedMark = { kind: 'mark', atMs, name, echoedAtMs: null };
        this.received.push(received);
        this.playout.addMark(received, atMs);
        return;
      }
      case 'clear': {
        this.clears.push(atMs);
        const entry: TelnyxReceivedClear = { kind: 'clear', atMs, discardedMs: 0 };
        this.received.push(entry);
        entry.discardedMs = this.playout.clear(atMs).discardedMs;
        return;
      }
      default:
        return invalid(`unknown event ${String(message['event'])}`);
    }
  }

  private onAgentAudio(bytes: Buffer, atMs: number): void {
    const samples = this.codec === 'PCMU' ? decodeMulaw(bytes) : decodeAlaw(bytes);
    const levelDbfs = pcm16Dbfs(samples);
    const isSilent = !(levelDbfs >= this.silenceThresholdDbfs);
    const { playsAtMs } = this.playout.addAudio(samples, atMs);
    if (!isSilent) this.nonSilentFrameTimes.push(atMs);
    this.received.push({
      kind: 'media',
      atMs,
      playsAtMs,
      byteLength: bytes.byteLength,
      durationMs: samples.length / 8,
      levelDbfs,
      isSilent,
      samples: this.recordAudio ? samples : null,
    });
  }

  private echoMark(mark: TelnyxReceivedMark): void {
    if (this.closedBy !== null) return;
    mark.echoedAtMs = this.clock.now();
    this.marksEchoed.push({ name: mark.name, atMs: mark.echoedAtMs });
    this.sendJson({
      event: 'mark',
      sequence_number: this.nextSequenceNumber(),
      stream_id: this.streamId,
      mark: { name: mark.name },
    });
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

  private nextSequenceNumber(): string {
    return String(++this.sequenceNumber);
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
