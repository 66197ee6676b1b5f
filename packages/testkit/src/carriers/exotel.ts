// Exotel, simulated for tests and the bench (reference/wire-protocols.md §2).
//
// ExotelRestSimulator: an HTTP server on 127.0.0.1 that accepts what Parley sends Exotel's REST API —
// the Connect Voice AI call (`POST /v1/Accounts/{sid}/Calls/connect`, HTTP Basic, form fields) —
// records every request, answers as Exotel does, and can post status callbacks and fetch a Voicebot
// applet's per-call URL the way Exotel would.
//
// ExotelCaller: opens the media WebSocket as Exotel's Voicebot applet does (`connected`, then `start`
// with the applet URL's custom parameters and the media format), streams the caller's line as raw
// audio frames on absolute deadlines (silence when nothing is said), and records what comes back with
// timestamps: agent audio (with each chunk's size, so Exotel's 320-byte / 100 ms rule can be checked),
// marks and clears. Marks are echoed when the audio before them has "played" (phone-playout.ts).
// Whether Exotel echoes pending marks on `clear` is undocumented: by default the caller does not.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  decodeMulaw,
  encodeMulaw,
  MULAW_SILENCE,
  pcm16BytesToSamples,
  pcm16Dbfs,
  pcm16SamplesToBytes,
  systemClock,
} from '@parley/voice';
import type { Clock } from '@parley/voice';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { loadFixture } from '../fixtures.js';
import type { FixtureName } from '../fixtures.js';
import { sharedFrameTicker } from '../frame-ticker.js';
import type { FrameTicker, TickerClient } from '../frame-ticker.js';
import { PhonePlayout } from '../phone-playout.js';

// =====================================================================================================
// REST simulator
// =====================================================================================================

export interface ExotelRestSimulatorOptions {
  accountSid?: string;
  apiKey?: string;
  apiToken?: string;
}

/** One request as the simulator received it. */
export interface ExotelRecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Form fields; repeated fields (`StatusCallbackEvents[]`) keep every value. */
  form: Record<string, string[]>;
  /** Whether the Basic credentials were the account's. */
  authorized: boolean;
}

export interface ExotelSimulatedCall {
  sid: string;
  /** The number dialled (Exotel's `From`). */
  from: string;
  callerId: string;
  streamUrl: string;
  statusCallback: string | null;
  statusCallbackEvents: string[];
}

export interface ExotelStatusCallbackOptions {
  /** Exotel's Status: queued, ringing, in-progress, completed, busy, no-answer, failed, canceled. */
  status: string;
  /** `terminal` (default for final statuses), `answered` or `ringing`. */
  eventType?: string;
  conversationDurationSeconds?: number;
  /** Legs[0].AnsweredBy; Exotel sends `NA` when it did not detect. */
  answeredBy?: string;
  /** Exotel posts form fields; JSON when nested data (Legs) is sent. Default `form`. */
  encoding?: 'form' | 'json';
  /** Extra query parameters on the callback URL are kept; this overrides the URL entirely. */
  url?: string;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function formOf(body: string): Record<string, string[]> {
  const form: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(body)) (form[key] ??= []).push(value);
  return form;
}

function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Starts an Exotel REST simulator on 127.0.0.1 (a free port). */
export function startExotelRestSimulator(
  options: ExotelRestSimulatorOptions = {},
): Promise<ExotelRestSimulator> {
  return ExotelRestSimulator.start(options);
}

export class ExotelRestSimulator {
  readonly accountSid: string;
  readonly apiKey: string;
  readonly apiToken: string;
  /** `http://127.0.0.1:port`: the `baseUrl` for ExotelCallControl. */
  readonly baseUrl: string;
  readonly requests: ExotelRecordedRequest[] = [];
  readonly calls = new Map<string, ExotelSimulatedCall>();
  private readonly failures: { status: number; body: unknown }[] = [];

  static async start(options: ExotelRestSimulatorOptions = {}): Promise<ExotelRestSimulator> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new ExotelRestSimulator(server, options);
  }

  private constructor(
    private readonly server: Server,
    options: ExotelRestSimulatorOptions,
  ) {
    this.accountSid = options.accountSid ?? 'exotel-account';
    this.apiKey = options.apiKey ?? 'exotel-key';
    this.apiToken = options.apiToken ?? 'exotel-token';
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('request', (request, response) => {
      void this.handle(request, response).catch(() => {
        if (!response.headersSent) sendJson(response, 500, { RestException: { Status: 500 } });
      });
    });
  }

  /** The next request is answered with this status and body instead of being served. */
  failNext(status: number, body: unknown = { RestException: { Status: status, Code: status * 100 } }): void {
    this.failures.push({ status, body });
  }

  /** Posts a status callback for `callSid` to the StatusCallback URL it was created with. */
  async sendStatusCallback(
    callSid: string,
    options: ExotelStatusCallbackOptions,
  ): Promise<{ status: number }> {
    const call = this.calls.get(callSid);
    const url = options.url ?? call?.statusCallback;
    if (!url) throw new Error(`Exotel simulator: call ${callSid} has no StatusCallback`);
    const final = !['ringing', 'in-progress', 'queued'].includes(options.status);
    const fields: Record<string, unknown> = {
      CallSid: callSid,
      Status: options.status,
      EventType:
        options.eventType ?? (final ? 'terminal' : options.status === 'ringing' ? 'ringing' : 'answered'),
      DateUpdated: '2026-01-01 10:00:00',
      Direction: 'outbound-api',
      From: call?.from ?? '',
      PhoneNumberSid: call?.callerId ?? '',
      RecordingUrl: '',
    };
    if (options.conversationDurationSeconds !== undefined) {
      fields['ConversationDuration'] = options.conversationDurationSeconds;
    }
    const encoding = options.encoding ?? 'form';
    let body: string;
    if (encoding === 'json') {
      const legs = [
        {
          Status: options.status,
          OnCallDuration: options.conversationDurationSeconds ?? 0,
          AnsweredBy: options.answeredBy ?? 'NA',
        },
      ];
      body = JSON.stringify({ ...fields, Legs: legs });
    } else {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) form.set(key, String(value));
      if (options.answeredBy !== undefined) form.set('AnsweredBy', options.answeredBy);
      body = form.toString();
    }
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
      },
      body,
    });
    await response.arrayBuffer();
    return { status: response.status };
  }

  /**
   * Fetches a Voicebot applet's per-call URL as Exotel does (GET, call details as query parameters) and
   * returns the `url` it answered with, or null when the answer was not `{"url": "ws…"}`.
   */
  async fetchAppletUrl(
    appletUrl: string,
    call: { callSid: string; from: string; to: string; direction?: string; customField?: string },
  ): Promise<{ status: number; url: string | null }> {
    const url = new URL(appletUrl);
    url.searchParams.set('CallSid', call.callSid);
    url.searchParams.set('CallFrom', call.from);
    url.searchParams.set('CallTo', call.to);
    url.searchParams.set('Direction', call.direction ?? 'incoming');
    if (call.customField !== undefined) url.searchParams.set('CustomField', call.customField);
    const response = await fetch(url);
    const text = await response.text();
    let streamUrl: string | null = null;
    try {
      const parsed: unknown = JSON.parse(text);
      const value =
        typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['url'] : null;
      if (typeof value === 'string' && /^wss?:\/\//.test(value)) streamUrl = value;
    } catch {
      streamUrl = null;
    }
    return { status: response.status, url: streamUrl };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorized(headers: IncomingHttpHeaders): boolean {
    const expected = `Basic ${Buffer.from(`${this.apiKey}:${this.apiToken}`).toString('base64')}`;
    return headers.authorization === expected;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const path = new URL(request.url ?? '/', this.baseUrl).pathname;
    const authorized = this.authorized(request.headers);
    const form = formOf(body);
    this.requests.push({ method: request.method ?? '', path, headers: request.headers, form, authorized });
    const failure = this.failures.shift();
    if (failure) return sendJson(response, failure.status, failure.body);
    if (!authorized) {
      return sendJson(response, 401, {
        RestException: { Status: 401, Message: 'Authentication is required' },
      });
    }
    const match = /^\/v1\/Accounts\/([^/]+)\/Calls\/connect(?:\.json)?$/i.exec(path);
    if (request.method !== 'POST' || !match) {
      return sendJson(response, 404, { RestException: { Status: 404, Message: 'Not Found' } });
    }
    if (decodeURIComponent(match[1]!) !== this.accountSid) {
      return sendJson(response, 403, { RestException: { Status: 403, Message: 'Forbidden' } });
    }
    const field = (name: string): string | undefined => form[name]?.[0];
    const missing = ['From', 'CallerId', 'StreamUrl', 'StreamType'].find((name) => !field(name));
    if (missing) {
      return sendJson(response, 400, {
        RestException: { Status: 400, Code: 34001, Message: `${missing} is required` },
      });
    }
    const streamUrl = field('StreamUrl')!;
    if (!/^wss?:\/\//.test(streamUrl) || streamUrl.length > 600 || field('StreamType') !== 'bidirectional') {
      return sendJson(response, 400, {
        RestException: { Status: 400, Code: 34002, Message: 'Invalid StreamUrl' },
      });
    }
    const call: ExotelSimulatedCall = {
      sid: randomBytes(16).toString('hex'),
      from: field('From')!,
      callerId: field('CallerId')!,
      streamUrl,
      statusCallback: field('StatusCallback') ?? null,
      statusCallbackEvents: form['StatusCallbackEvents[]'] ?? [],
    };
    this.calls.set(call.sid, call);
    sendJson(response, 200, {
      call: {
        sid: call.sid,
        status: 'in-progress',
        from: call.from,
        phonenumbersid: call.callerId,
        direction: 'outbound-api',
        datecreated: '2026-01-01 10:00:00',
        recordingurl: null,
      },
    });
  }
}

// =====================================================================================================
// Caller simulator
// =====================================================================================================

/** Exotel plays outbound chunks that are multiples of this many bytes… */
const CHUNK_QUANTUM_BYTES = 320;
/** … and at least this long. */
const MIN_CHUNK_MS = 100;
const DTMF_DIGIT = /^[0-9*#A-D]$/;

export interface ExotelCallerOptions {
  /** The server's media WebSocket URL (ws://127.0.0.1:port/...). */
  url: string;
  /** Sent in `start.custom_parameters`, as the applet URL's query parameters are. */
  customParameters?: Record<string, string>;
  streamSid?: string;
  callSid?: string;
  accountSid?: string;
  from?: string;
  to?: string;
  /** `audio/x-raw` 16-bit PCM (the base guide's format, default) or μ-law; always 8 kHz. */
  encoding?: 'pcm16' | 'mulaw';
  /** Upgrade request headers. */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Basic`, as Exotel does for `wss://user:password@host/…` applet URLs. */
  basicAuth?: { username: string; password: string };
  /** Caller audio per media message. Default 20 ms; Exotel itself sends about 100 ms. */
  frameMs?: number;
  /** Whether `clear` returns the pending marks at once (undocumented for Exotel). Default false. */
  echoMarksOnClear?: boolean;
  /** Drives the line's frame deadlines and the playback model. Default: performance.now() + timers. */
  clock?: Clock;
  /** Keep the agent's decoded samples for `heardAudio()` and `received`. Default true; off for load runs. */
  recordAudio?: boolean;
  /** Agent chunks quieter than this count as silent. Default -50 dBFS. */
  silenceThresholdDbfs?: number;
  /** Gives up on the WebSocket handshake after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
}

/** Agent audio as it arrived. Times are clock times (monotonic ms). */
export interface ExotelReceivedMedia {
  kind: 'media';
  atMs: number;
  /** When the phone starts playing it (after the audio queued before it). */
  playsAtMs: number;
  /** Payload size: Exotel wants multiples of 320 bytes of at least 100 ms. */
  byteLength: number;
  /** Whether the chunk met Exotel's size rule. */
  compliant: boolean;
  durationMs: number;
  levelDbfs: number;
  isSilent: boolean;
  /** Decoded PCM16 8 kHz; null when `recordAudio` is off. */
  samples: Int16Array | null;
}

export interface ExotelReceivedMark {
  kind: 'mark';
  atMs: number;
  name: string;
  /** When the caller echoed it back (null while its audio is still playing, or never after a clear). */
  echoedAtMs: number | null;
}

export interface ExotelReceivedClear {
  kind: 'clear';
  atMs: number;
  discardedMs: number;
}

/** A message Exotel would reject or ignore. */
export interface ExotelReceivedInvalid {
  kind: 'invalid';
  atMs: number;
  reason: string;
  text: string;
}

export type ExotelCallerReceived =
  ExotelReceivedMedia | ExotelReceivedMark | ExotelReceivedClear | ExotelReceivedInvalid;

export interface ExotelPlaybackTimes {
  startedAtMs: number;
  endedAtMs: number;
}

interface QueuedPlay {
  payloads: string[];
  next: number;
  startedAtMs: number | null;
  resolve: (times: ExotelPlaybackTimes) => void;
  reject: (error: Error) => void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Connects a caller; resolves once `connected` and `start` are sent and the line is streaming. */
export function startExotelCaller(options: ExotelCallerOptions): Promise<ExotelCaller> {
  return ExotelCaller.connect(options);
}

export class ExotelCaller implements TickerClient {
  readonly streamSid: string;
  readonly callSid: string;
  readonly accountSid: string;
  readonly encoding: 'pcm16' | 'mulaw';
  readonly frameMs: number;
  /** Clock time `start` was sent; frame k of the line is due at this + frameMs·k. */
  readonly startSentAtMs: number;
  readonly received: ExotelCallerReceived[] = [];
  readonly nonSilentChunkTimes: number[] = [];
  readonly clears: number[] = [];
  readonly marksEchoed: { name: string; atMs: number }[] = [];
  closedAtMs: number | null = null;
  closeCode: number | null = null;
  closedBy: 'caller' | 'server' | null = null;

  private readonly clock: Clock;
  private readonly ticker: FrameTicker;
  private readonly playout: PhonePlayout<ExotelReceivedMark>;
  private readonly silenceThresholdDbfs: number;
  private readonly recordAudio: boolean;
  private readonly echoMarksOnClear: boolean;
  private readonly frameBytes: number;
  private readonly silentPayload: string;
  private clearing = false;
  private sequenceNumber = 0;
  private nextFrameIndex = 0;
  private readonly plays: QueuedPlay[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly closed: Promise<void>;

  static async connect(options: ExotelCallerOptions): Promise<ExotelCaller> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.basicAuth) {
      const { username, password } = options.basicAuth;
      headers['authorization'] = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    const socket = new WebSocket(options.url, {
      headers,
      handshakeTimeout: options.connectTimeoutMs ?? 5000,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.off('open', onOpen);
        reject(new Error(`Exotel caller could not connect to ${options.url}: ${error.message}`));
      };
      const onOpen = (): void => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('open', onOpen);
      socket.once('error', onError);
    });
    return new ExotelCaller(socket, options);
  }

  private constructor(
    private readonly socket: WebSocket,
    options: ExotelCallerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.streamSid = options.streamSid ?? sid('MZ');
    this.callSid = options.callSid ?? sid('CA');
    this.accountSid = options.accountSid ?? sid('AC');
    this.encoding = options.encoding ?? 'pcm16';
    this.frameMs = options.frameMs ?? 20;
    this.frameBytes = this.frameMs * 8 * (this.encoding === 'pcm16' ? 2 : 1);
    this.silentPayload = Buffer.alloc(
      this.frameBytes,
      this.encoding === 'pcm16' ? 0 : MULAW_SILENCE,
    ).toString('base64');
    this.silenceThresholdDbfs = options.silenceThresholdDbfs ?? -50;
    this.recordAudio = options.recordAudio ?? true;
    this.echoMarksOnClear = options.echoMarksOnClear ?? false;

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

    this.sendJson({ event: 'connected' });
    this.sendJson({
      event: 'start',
      sequence_number: this.nextSequenceNumber(),
      stream_sid: this.streamSid,
      start: {
        stream_sid: this.streamSid,
        call_sid: this.callSid,
        account_sid: this.accountSid,
        from: options.from ?? '+919800000001',
        to: options.to ?? '+918000000002',
        custom_parameters: options.customParameters ?? {},
        media_format:
          this.encoding === 'pcm16'
            ? { encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' }
            : { encoding: 'audio/x-mulaw', sample_rate: '8000', bit_rate: '8' },
      },
    });
    this.startSentAtMs = this.clock.now();
    this.playout = new PhonePlayout<ExotelReceivedMark>({
      clock: this.clock,
      originMs: this.startSentAtMs,
      keepSamples: this.recordAudio,
      onMarkPlayed: (mark) => this.onMarkPlayed(mark),
    });
    this.ticker = sharedFrameTicker(this.clock);
    this.ticker.add(this);
  }

  // --- what the caller does ----------------------------------------------------------------------

  /** Says something (PCM16 8 kHz or a fixture), after anything already playing. Resolves with send times. */
  play(audio: Int16Array | FixtureName): Promise<ExotelPlaybackTimes> {
    if (this.closedBy !== null) return Promise.reject(new Error('Exotel caller: the call has ended'));
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
  sendDtmf(digit: string, durationMs = 100): void {
    if (!DTMF_DIGIT.test(digit)) throw new RangeError(`not a DTMF digit: ${digit}`);
    this.sendJson({
      event: 'dtmf',
      sequence_number: this.nextSequenceNumber(),
      stream_sid: this.streamSid,
      dtmf: { digit, duration: String(durationMs) },
    });
  }

  /** The caller hangs up: `stop` (reason `callended`), then the socket closes. Resolves once closed. */
  async hangUp(): Promise<void> {
    if (this.closedAtMs === null && this.closedBy === null) {
      this.closedBy = 'caller';
      this.sendJson({
        event: 'stop',
        sequence_number: this.nextSequenceNumber(),
        stream_sid: this.streamSid,
        stop: { call_sid: this.callSid, account_sid: this.accountSid, reason: 'callended' },
      });
      this.stopLine('the caller hung up');
      this.socket.close(1000, 'caller hung up');
      // A server that never completes the closing handshake is dropped, not awaited for ws's 30 s.
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

  get marks(): ExotelReceivedMark[] {
    return this.received.filter((message): message is ExotelReceivedMark => message.kind === 'mark');
  }

  get media(): ExotelReceivedMedia[] {
    return this.received.filter((message): message is ExotelReceivedMedia => message.kind === 'media');
  }

  /** Agent chunks that broke Exotel's size rule (not a multiple of 320 bytes, or under 100 ms). */
  get nonCompliantChunks(): number {
    return this.media.filter((chunk) => !chunk.compliant).length;
  }

  clearsAfter(afterMs: number): number[] {
    return this.clears.filter((atMs) => atMs > afterMs);
  }

  /** Arrival time of the first agent chunk with sound after `afterMs`, or null. */
  firstNonSilentOutboundAfter(afterMs: number): number | null {
    return this.nonSilentChunkTimes.find((atMs) => atMs > afterMs) ?? null;
  }

  /** The agent's audio as heard: PCM16 8 kHz from `start` until now (or the hang-up). Needs `recordAudio`. */
  heardAudio(): Int16Array {
    return this.playout.heardAudio(Math.min(this.clock.now(), this.closedAtMs ?? Infinity));
  }

  /** Milliseconds of agent audio received but not yet played. */
  get bufferedOutboundMs(): number {
    return this.playout.bufferedMs(this.clock.now());
  }

  get framesSent(): number {
    return this.nextFrameIndex;
  }

  /**
   * Resolves with the first truthy value of `probe`, re-checked whenever something happens (a message,
   * a mark echo, a frame sent, the close). Rejects after `timeoutMs` of wall time (a safety net), or
   * when the call closes with the condition unmet.
   */
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
            reject(new Error(`Exotel caller ${this.callSid}: call closed before the condition was met`)),
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`Exotel caller ${this.callSid}: condition not met within ${timeoutMs} ms`)),
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
    return this.startSentAtMs + this.nextFrameIndex * this.frameMs;
  }

  /** @internal Shared-ticker hook: sends every frame due by `dueByMs`. */
  onDue(nowMs: number, dueByMs: number): void {
    while (this.closedBy === null && this.nextDueMs() <= dueByMs) this.sendFrame(nowMs);
    this.notify();
  }

  private framePayloads(samples: Int16Array): string[] {
    const encoded = this.encoding === 'pcm16' ? pcm16SamplesToBytes(samples) : encodeMulaw(samples);
    const payloads: string[] = [];
    for (let offset = 0; offset < encoded.length; offset += this.frameBytes) {
      const frame = Buffer.alloc(this.frameBytes, this.encoding === 'pcm16' ? 0 : MULAW_SILENCE);
      frame.set(encoded.subarray(offset, offset + this.frameBytes));
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
      stream_sid: this.streamSid,
      media: { chunk: String(index + 1), timestamp: String(index * this.frameMs), payload },
    });
    if (finished) finished.resolve({ startedAtMs: finished.startedAtMs ?? nowMs, endedAtMs: nowMs });
  }

  private stopLine(reason: string): void {
    this.ticker.remove(this);
    this.playout.close();
    for (const play of this.plays.splice(0))
      play.reject(new Error(`Exotel caller: ${reason} before the audio finished`));
  }

  // --- what the server sends -----------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    const atMs = this.clock.now();
    const text = isBinary ? '' : rawText(data);
    const invalid = (reason: string): void => {
      this.received.push({ kind: 'invalid', atMs, reason, text: text.slice(0, 200) });
    };
    if (isBinary) invalid('binary frame (Exotel accepts JSON text only)');
    else {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        message = undefined;
      }
      if (!isRecord(message)) invalid('not a JSON object');
      else if ((message['stream_sid'] ?? message['streamSid']) !== this.streamSid)
        invalid('missing or wrong stream_sid');
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
        this.onAgentAudio(Buffer.from(payload, 'base64'), atMs);
        return;
      }
      case 'mark': {
        const mark = message['mark'];
        const name = isRecord(mark) ? mark['name'] : undefined;
        if (typeof name !== 'string') return invalid('mark without mark.name');
        const received: ExotelReceivedMark = { kind: 'mark', atMs, name, echoedAtMs: null };
        this.received.push(received);
        this.playout.addMark(received, atMs);
        return;
      }
      case 'clear': {
        this.clears.push(atMs);
        const entry: ExotelReceivedClear = { kind: 'clear', atMs, discardedMs: 0 };
        this.received.push(entry);
        this.clearing = true;
        entry.discardedMs = this.playout.clear(atMs).discardedMs;
        this.clearing = false;
        return;
      }
      default:
        return invalid(`unknown event ${String(message['event'])}`);
    }
  }

  private onAgentAudio(bytes: Buffer, atMs: number): void {
    const bytesPerSample = this.encoding === 'pcm16' ? 2 : 1;
    const durationMs = bytes.byteLength / bytesPerSample / 8;
    const compliant = bytes.byteLength % CHUNK_QUANTUM_BYTES === 0 && durationMs >= MIN_CHUNK_MS;
    const samples =
      this.encoding === 'pcm16'
        ? pcm16BytesToSamples(bytes.subarray(0, bytes.byteLength - (bytes.byteLength % 2)))
        : decodeMulaw(bytes);
    const levelDbfs = pcm16Dbfs(samples);
    const isSilent = !(levelDbfs >= this.silenceThresholdDbfs);
    const { playsAtMs } = this.playout.addAudio(samples, atMs);
    if (!isSilent) this.nonSilentChunkTimes.push(atMs);
    this.received.push({
      kind: 'media',
      atMs,
      playsAtMs,
      byteLength: bytes.byteLength,
      compliant,
      durationMs,
      levelDbfs,
      isSilent,
      samples: this.recordAudio ? samples : null,
    });
  }

  private onMarkPlayed(mark: ExotelReceivedMark): void {
    if (this.closedBy !== null) return;
    if (this.clearing && !this.echoMarksOnClear) return;
    mark.echoedAtMs = this.clock.now();
    this.marksEchoed.push({ name: mark.name, atMs: mark.echoedAtMs });
    this.sendJson({
      event: 'mark',
      sequence_number: this.nextSequenceNumber(),
      stream_sid: this.streamSid,
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
