// A Twilio-style phone caller for tests and the bench (reference/wire-protocols.md §1.2–1.3). It opens
// the server's media WebSocket as Twilio does (`connected`, then `start` with custom parameters), then
// streams the caller's line as 20 ms μ-law frames on absolute deadlines — silence when nothing is being
// said, as a real line does — and records what comes back with monotonic timestamps: agent audio,
// marks, clears. Marks are echoed when the audio before them has "played" (see phone-playout.ts) and
// at once on `clear`. One shared ticker drives every caller on a clock, so hundreds cost one timer.
import { randomBytes } from 'node:crypto';
import { decodeMulaw, encodeMulaw, MULAW_SILENCE, pcm16Dbfs, systemClock } from '@parley/voice';
import type { Clock } from '@parley/voice';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { loadFixture } from './fixtures.js';
import type { FixtureName } from './fixtures.js';
import { sharedFrameTicker } from './frame-ticker.js';
import type { FrameTicker, TickerClient } from './frame-ticker.js';
import { PhonePlayout } from './phone-playout.js';

const FRAME_MS = 20;
/** 20 ms of μ-law at 8 kHz. */
const FRAME_BYTES = 160;
const SILENT_PAYLOAD = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE).toString('base64');
const DTMF_DIGIT = /^[0-9*#A-D]$/;

export interface TwilioCallerOptions {
  /** The server's media WebSocket URL (ws://127.0.0.1:port/...). */
  url: string;
  /** Sent in `start.customParameters`, as `<Parameter>` values are. */
  customParameters?: Record<string, string>;
  streamSid?: string;
  callSid?: string;
  accountSid?: string;
  /** Upgrade request headers, e.g. `X-Twilio-Signature`. */
  headers?: Record<string, string>;
  /** Drives the line's frame deadlines and the playback model. Default: performance.now() + timers. */
  clock?: Clock;
  /** Keep the agent's decoded samples for `heardAudio()` and `received`. Default true; off for load runs. */
  recordAudio?: boolean;
  /** Agent frames quieter than this count as silent. Default -50 dBFS. */
  silenceThresholdDbfs?: number;
  /** Gives up on the WebSocket handshake after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Adds `"sentAt"` (epoch milliseconds, fractional) to every media message: a field Twilio does not
   * send, for a load run on one machine to tell the server's lateness from this caller's own.
   */
  stampSendTimes?: boolean;
}

/** Agent audio as it arrived. Times are clock times (monotonic ms). */
export interface ReceivedMedia {
  kind: 'media';
  atMs: number;
  /** When the phone starts playing it (after the audio queued before it). */
  playsAtMs: number;
  durationMs: number;
  levelDbfs: number;
  isSilent: boolean;
  /** Decoded PCM16 8 kHz; null when `recordAudio` is off. */
  samples: Int16Array | null;
}

export interface ReceivedMark {
  kind: 'mark';
  atMs: number;
  name: string;
  /** When the caller echoed it back (null while its audio is still playing). */
  echoedAtMs: number | null;
}

export interface ReceivedClear {
  kind: 'clear';
  atMs: number;
  /** Unplayed audio the clear discarded. */
  discardedMs: number;
}

/** A message Twilio would reject or ignore (bad JSON, wrong streamSid, mark without a name, ...). */
export interface ReceivedInvalid {
  kind: 'invalid';
  atMs: number;
  reason: string;
  text: string;
}

export type CallerReceived = ReceivedMedia | ReceivedMark | ReceivedClear | ReceivedInvalid;

export interface PlaybackTimes {
  /** Clock time the first frame of the audio was sent. */
  startedAtMs: number;
  /** Clock time the last frame was sent. */
  endedAtMs: number;
}

export interface InboundStats {
  framesSent: number;
  /** Frames sent more than one frame (20 ms) after their deadline: the generator was too busy. */
  lateFrames: number;
  maxLatenessMs: number;
  meanLatenessMs: number;
}

interface QueuedPlay {
  payloads: string[];
  next: number;
  startedAtMs: number | null;
  resolve: (times: PlaybackTimes) => void;
  reject: (error: Error) => void;
}

/** Encoded frames per sample buffer: a bench playing one fixture on 200 lines encodes it once. */
const payloadCache = new WeakMap<Int16Array, string[]>();

/** Base64 μ-law payloads of 20 ms frames; the last is padded with silence (Twilio sends whole frames). */
function framePayloads(samples: Int16Array): string[] {
  const cached = payloadCache.get(samples);
  if (cached) return cached;
  const mulaw = encodeMulaw(samples);
  const payloads: string[] = [];
  for (let offset = 0; offset < mulaw.length; offset += FRAME_BYTES) {
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    frame.set(mulaw.subarray(offset, offset + FRAME_BYTES));
    payloads.push(frame.toString('base64'));
  }
  payloadCache.set(samples, payloads);
  return payloads;
}

function sid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
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
export function startTwilioCaller(options: TwilioCallerOptions): Promise<TwilioCaller> {
  return TwilioCaller.connect(options);
}

export class TwilioCaller implements TickerClient {
  readonly streamSid: string;
  readonly callSid: string;
  readonly accountSid: string;
  /** Clock time `start` was sent; frame k of the line is due at this + 20·k ms. */
  readonly startSentAtMs: number;
  /** Everything the server sent, in arrival order. */
  readonly received: CallerReceived[] = [];
  /** Arrival times of agent frames that were not silent (ascending). */
  readonly nonSilentFrameTimes: number[] = [];
  /** Arrival times of `clear` messages. */
  readonly clears: number[] = [];
  readonly marksEchoed: { name: string; atMs: number }[] = [];
  agentFramesReceived = 0;
  closedAtMs: number | null = null;
  closeCode: number | null = null;
  /** Who ended the connection. */
  closedBy: 'caller' | 'server' | null = null;

  private readonly clock: Clock;
  private readonly ticker: FrameTicker;
  private readonly playout: PhonePlayout<ReceivedMark>;
  private readonly silenceThresholdDbfs: number;
  private readonly recordAudio: boolean;
  private readonly stampSendTimes: boolean;
  /** JSON-escaped once: every frame embeds it. */
  private readonly streamSidJson: string;
  private sequenceNumber = 0;
  private nextFrameIndex = 0;
  private readonly plays: QueuedPlay[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly closed: Promise<void>;
  private latenessTotalMs = 0;
  private lateFrameCount = 0;
  private maxLatenessMs = 0;

  static async connect(options: TwilioCallerOptions): Promise<TwilioCaller> {
    const socket = new WebSocket(options.url, {
      headers: options.headers ?? {},
      handshakeTimeout: options.connectTimeoutMs ?? 5000,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.off('open', onOpen);
        reject(new Error(`Twilio caller could not connect to ${options.url}: ${error.message}`));
      };
      const onOpen = (): void => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('open', onOpen);
      socket.once('error', onError);
    });
    return new TwilioCaller(socket, options);
  }

  private constructor(
    private readonly socket: WebSocket,
    options: TwilioCallerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.streamSid = options.streamSid ?? sid('MZ');
    this.callSid = options.callSid ?? sid('CA');
    this.accountSid = options.accountSid ?? sid('AC');
    this.streamSidJson = JSON.stringify(this.streamSid);
    this.silenceThresholdDbfs = options.silenceThresholdDbfs ?? -50;
    this.recordAudio = options.recordAudio ?? true;
    this.stampSendTimes = options.stampSendTimes ?? false;

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

    this.sendJson({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.sendJson({
      event: 'start',
      sequenceNumber: this.nextSequenceNumber(),
      streamSid: this.streamSid,
      start: {
        streamSid: this.streamSid,
        accountSid: this.accountSid,
        callSid: this.callSid,
        tracks: ['inbound'],
        customParameters: options.customParameters ?? {},
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    this.startSentAtMs = this.clock.now();
    this.playout = new PhonePlayout<ReceivedMark>({
      clock: this.clock,
      originMs: this.startSentAtMs,
      keepSamples: this.recordAudio,
      onMarkPlayed: (mark) => this.echoMark(mark),
    });
    this.ticker = sharedFrameTicker(this.clock);
    this.ticker.add(this);
  }

  // --- what the caller does ----------------------------------------------------------------------

  /**
   * Says something: PCM16 8 kHz samples or a fixture, queued after anything already playing. Resolves
   * with the send times of its first and last frame; rejects if the call ends first. The samples are
   * encoded once and cached by identity: do not modify them afterwards.
   */
  play(audio: Int16Array | FixtureName): Promise<PlaybackTimes> {
    if (this.closedBy !== null) {
      return Promise.reject(new Error('Twilio caller: the call has ended'));
    }
    const payloads = framePayloads(typeof audio === 'string' ? loadFixture(audio).samples : audio);
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
      streamSid: this.streamSid,
      dtmf: { track: 'inbound_track', digit },
    });
  }

  /** The caller hangs up: `stop`, then the socket closes. Resolves once it has closed. */
  async hangUp(): Promise<void> {
    if (this.closedAtMs === null && this.closedBy === null) {
      this.closedBy = 'caller';
      this.sendJson({
        event: 'stop',
        sequenceNumber: this.nextSequenceNumber(),
        streamSid: this.streamSid,
        stop: { accountSid: this.accountSid, callSid: this.callSid },
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

  // --- what the caller observed ------------------------------------------------------------------

  /** Arrival time of the first agent frame with sound after `afterMs`, or null. */
  firstNonSilentOutboundAfter(afterMs: number): number | null {
    const times = this.nonSilentFrameTimes;
    let low = 0;
    let high = times.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (times[mid]! <= afterMs) low = mid + 1;
      else high = mid;
    }
    return times[low] ?? null;
  }

  lastNonSilentOutboundAt(): number | null {
    return this.nonSilentFrameTimes.at(-1) ?? null;
  }

  /** Arrival times of clears after `afterMs`. */
  clearsAfter(afterMs: number): number[] {
    return this.clears.filter((atMs) => atMs > afterMs);
  }

  /** Received marks, in arrival order. */
  get marks(): ReceivedMark[] {
    return this.received.filter((message): message is ReceivedMark => message.kind === 'mark');
  }

  /**
   * The agent's audio as the caller heard it: PCM16 8 kHz from `start` until now (or the hang-up),
   * silence where nothing played, cleared audio cut where the clear arrived. Needs `recordAudio`.
   */
  heardAudio(): Int16Array {
    return this.playout.heardAudio(Math.min(this.clock.now(), this.closedAtMs ?? Infinity));
  }

  /** Milliseconds of agent audio received but not yet played. */
  get bufferedOutboundMs(): number {
    return this.playout.bufferedMs(this.clock.now());
  }

  get inboundStats(): InboundStats {
    return {
      framesSent: this.nextFrameIndex,
      lateFrames: this.lateFrameCount,
      maxLatenessMs: this.maxLatenessMs,
      meanLatenessMs: this.nextFrameIndex === 0 ? 0 : this.latenessTotalMs / this.nextFrameIndex,
    };
  }

  get framesSent(): number {
    return this.nextFrameIndex;
  }

  get lateFrames(): number {
    return this.lateFrameCount;
  }

  /**
   * Resolves with the first truthy value of `probe`, re-checked whenever something happens (a message,
   * a mark echo, a frame sent, the close); no polling. Rejects after `timeoutMs` of wall time (a safety
   * net, not a way to wait), or when the call closes with the condition still unmet.
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
            reject(new Error(`Twilio caller ${this.callSid}: call closed before the condition was met`)),
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`Twilio caller ${this.callSid}: condition not met within ${timeoutMs} ms`)),
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
  onDue(nowMs: number, dueByMs: number): void {
    while (this.closedBy === null && this.nextDueMs() <= dueByMs) {
      const latenessMs = Math.max(0, nowMs - this.nextDueMs());
      this.latenessTotalMs += latenessMs;
      this.maxLatenessMs = Math.max(this.maxLatenessMs, latenessMs);
      if (latenessMs > FRAME_MS) this.lateFrameCount++;
      this.sendFrame(nowMs);
    }
    this.notify();
  }

  private sendFrame(nowMs: number): void {
    const index = this.nextFrameIndex++;
    const play = this.plays[0];
    let payload = SILENT_PAYLOAD;
    let finished: QueuedPlay | null = null;
    if (play) {
      play.startedAtMs ??= nowMs;
      payload = play.payloads[play.next++]!;
      if (play.next >= play.payloads.length) finished = this.plays.shift()!;
    }
    // Built by hand: this runs 50 times a second per caller.
    this.sendText(
      `{"event":"media","sequenceNumber":"${this.nextSequenceNumber()}","streamSid":${this.streamSidJson},` +
        `"media":{"track":"inbound","chunk":"${index + 1}","timestamp":"${index * FRAME_MS}",` +
        `"payload":"${payload}"}${this.stampSendTimes ? `,"sentAt":"${performance.timeOrigin + performance.now()}"` : ''}}`,
    );
    if (finished) finished.resolve({ startedAtMs: finished.startedAtMs ?? nowMs, endedAtMs: nowMs });
  }

  private stopLine(reason: string): void {
    this.ticker.remove(this);
    this.playout.close();
    for (const play of this.plays.splice(0)) {
      play.reject(new Error(`Twilio caller: ${reason} before the audio finished`));
    }
  }

  // --- what the server sends -----------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    const atMs = this.clock.now();
    const text = isBinary ? '' : rawText(data);
    const invalid = (reason: string): void => {
      this.received.push({ kind: 'invalid', atMs, reason, text: text.slice(0, 200) });
    };
    if (isBinary) invalid('binary frame (Twilio accepts JSON text only)');
    else {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        message = undefined;
      }
      if (!isRecord(message)) invalid('not a JSON object');
      else if (message['streamSid'] !== this.streamSid) invalid('missing or wrong streamSid');
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
        this.onAgentAudio(decodeMulaw(Buffer.from(payload, 'base64')), atMs);
        return;
      }
      case 'mark': {
        const mark = message['mark'];
        const name = isRecord(mark) ? mark['name'] : undefined;
        if (typeof name !== 'string') return invalid('mark without mark.name');
        const received: ReceivedMark = { kind: 'mark', atMs, name, echoedAtMs: null };
        this.received.push(received);
        this.playout.addMark(received, atMs);
        return;
      }
      case 'clear': {
        this.clears.push(atMs);
        const entry: ReceivedClear = { kind: 'clear', atMs, discardedMs: 0 };
        this.received.push(entry);
        entry.discardedMs = this.playout.clear(atMs).discardedMs;
        return;
      }
      default:
        return invalid(`unknown event ${String(message['event'])}`);
    }
  }

  private onAgentAudio(samples: Int16Array, atMs: number): void {
    this.agentFramesReceived++;
    const levelDbfs = pcm16Dbfs(samples);
    const isSilent = !(levelDbfs >= this.silenceThresholdDbfs);
    const { playsAtMs } = this.playout.addAudio(samples, atMs);
    if (!isSilent) this.nonSilentFrameTimes.push(atMs);
    this.received.push({
      kind: 'media',
      atMs,
      playsAtMs,
      durationMs: samples.length / 8,
      levelDbfs,
      isSilent,
      samples: this.recordAudio ? samples : null,
    });
  }

  private echoMark(mark: ReceivedMark): void {
    if (this.closedBy !== null) return;
    mark.echoedAtMs = this.clock.now();
    this.marksEchoed.push({ name: mark.name, atMs: mark.echoedAtMs });
    this.sendJson({
      event: 'mark',
      sequenceNumber: this.nextSequenceNumber(),
      streamSid: this.streamSid,
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
