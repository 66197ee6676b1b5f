// What the three TTS simulators share: the record of each utterance (context, connection or request),
// failures on demand, and paced, faster-than-real-time generation of the synthetic speech.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { systemClock } from '@parley/voice';
import type { AudioFormat, Clock } from '@parley/voice';
import { lognormalFromPercentiles, seededRandom } from '../distributions.js';
import { DEFAULT_MS_PER_CHARACTER, simulatedSpeech } from './synth.js';

/** A delay in milliseconds: fixed, or drawn from a distribution (see distributions.ts). */
export type TtsLatencyMs = number | { sample(): number };

export interface TtsSimulatorOptions {
  /** Key the simulator accepts; anything else is refused the way the vendor refuses it. */
  apiKey?: string;
  /** From the first text of an utterance to its first audio. Default log-normal p50 100 / p99 250 ms. */
  firstByteLatencyMs?: TtsLatencyMs;
  /** Audio per chunk sent. Default 100 ms. */
  chunkDurationMs?: number;
  /** Wait between chunks. Default a quarter of the chunk duration, i.e. four times real time. */
  chunkIntervalMs?: TtsLatencyMs;
  /** Speech length per character of text. Default 60 ms. */
  msPerCharacter?: number;
  /** Seed of the default latency distribution. */
  seed?: number;
  /** Timestamps (monotonic) and pacing timers. */
  clock?: Clock;
}

/**
 * `error`: the vendor's error report (Cartesia error message, ElevenLabs error + 1008 close, HTTP 5xx).
 * `drop`: the connection dies right after the first audio chunk. `stall`: text is accepted, no audio ever.
 */
export type TtsSimFailure = 'error' | 'drop' | 'stall';

export interface TtsSimMessage {
  /** `clock.now()` on arrival. */
  atMs: number;
  /** The parsed JSON message (or, for HTTP, the request body). */
  data: unknown;
}

export interface TtsSimUtterance {
  /** Cartesia `context_id`, `connection-N` for ElevenLabs, `request-N` for OpenAI. */
  id: string;
  /** 1-based id of the connection it arrived on. */
  connectionId: number;
  startedAtMs: number;
  messages: TtsSimMessage[];
  /** All text received, concatenated. */
  text: string;
  format: AudioFormat | undefined;
  /** When the first audio byte went out: the bench's "TTS first byte", measured at the vendor. */
  firstAudioSentAtMs: number | undefined;
  audioBytesSent: number;
  /** Cartesia `cancel`, the client closing the socket, or the HTTP request aborted, before the end. */
  cancelledAtMs: number | undefined;
  /** The final message (done / isFinal) or the end of the HTTP body was sent. */
  completedAtMs: number | undefined;
  failure: TtsSimFailure | undefined;
}

/** The surface the conformance suite and the bench use, the same for all three simulators. */
export interface TtsSimulator {
  /** What the adapter takes as `baseUrl` (ws://127.0.0.1:port, or http://127.0.0.1:port/v1). */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly utterances: readonly TtsSimUtterance[];
  /** Connections accepted so far (WebSocket upgrades or HTTP requests). */
  readonly connectionCount: number;
  /** The next utterance that starts fails this way. */
  failNext(failure: TtsSimFailure): void;
  /** Resolves with the first truthy value of `probe`, re-evaluated whenever something is recorded. */
  waitFor<T>(probe: () => T | undefined | null | false): Promise<T>;
  close(): Promise<void>;
}

export interface ResolvedSimOptions {
  apiKey: string;
  clock: Clock;
  chunkDurationMs: number;
  msPerCharacter: number;
  firstByteLatency: () => number;
  chunkInterval: () => number;
}

function sampler(latency: TtsLatencyMs): () => number {
  return typeof latency === 'number' ? () => latency : () => Math.max(0, latency.sample());
}

export function resolveSimOptions(options: TtsSimulatorOptions): ResolvedSimOptions {
  const chunkDurationMs = options.chunkDurationMs ?? 100;
  return {
    apiKey: options.apiKey ?? 'sim-tts-key',
    clock: options.clock ?? systemClock,
    chunkDurationMs,
    msPerCharacter: options.msPerCharacter ?? DEFAULT_MS_PER_CHARACTER,
    firstByteLatency: sampler(
      options.firstByteLatencyMs ?? lognormalFromPercentiles(100, 250, seededRandom(options.seed ?? 1)),
    ),
    chunkInterval: sampler(options.chunkIntervalMs ?? chunkDurationMs / 4),
  };
}

/** The bookkeeping every simulator does: utterances, pending failures, waiters. */
export class SimulatorState {
  readonly utterances: TtsSimUtterance[] = [];
  connectionCount = 0;
  private readonly failures: TtsSimFailure[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly options: ResolvedSimOptions) {}

  now(): number {
    return this.options.clock.now();
  }

  startUtterance(id: string, connectionId: number): TtsSimUtterance {
    const utterance: TtsSimUtterance = {
      id,
      connectionId,
      startedAtMs: this.now(),
      messages: [],
      text: '',
      format: undefined,
      firstAudioSentAtMs: undefined,
      audioBytesSent: 0,
      cancelledAtMs: undefined,
      completedAtMs: undefined,
      failure: this.failures.shift(),
    };
    this.utterances.push(utterance);
    this.changed();
    return utterance;
  }

  record(utterance: TtsSimUtterance, data: unknown): void {
    utterance.messages.push({ atMs: this.now(), data });
    this.changed();
  }

  /** Appends received text (spacing kept as sent). */
  addText(utterance: TtsSimUtterance, text: string): void {
    utterance.text += text;
    this.changed();
  }

  failNext(failure: TtsSimFailure): void {
    this.failures.push(failure);
  }

  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  waitFor<T>(probe: () => T | undefined | null | false): Promise<T> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const value = probe();
        if (!value) return false;
        this.listeners.delete(listener);
        resolve(value);
        return true;
      };
      const listener = (): void => void check();
      if (!check()) this.listeners.add(listener);
    });
  }
}

/**
 * Generates one utterance's audio segment by segment (one per text message or request), in order,
 * paced on the simulator's clock. `send` returns false once the transport is gone.
 */
export class SpeechGenerator {
  private chain: Promise<void> = Promise.resolve();
  private waitedFirstByte = false;
  private stopped = false;

  constructor(
    private readonly state: SimulatorState,
    private readonly utterance: TtsSimUtterance,
    private readonly format: AudioFormat,
    private readonly send: (audio: Uint8Array) => boolean,
    /** Called instead of sending more after the first chunk when the failure is `drop`. */
    private readonly drop: () => void,
  ) {}

  /** Queues the speech for `text`; resolves once it has been sent (or generation stopped). */
  speak(text: string): Promise<void> {
    this.chain = this.chain.then(() => this.generate(text));
    return this.chain;
  }

  /** Runs `callback` after everything queued so far, unless generation was stopped. */
  then(callback: () => void): void {
    this.chain = this.chain.then(() => {
      if (!this.stopped && this.utterance.failure !== 'stall') callback();
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private async generate(text: string): Promise<void> {
    if (this.stopped || this.utterance.failure === 'stall') return;
    const audio = simulatedSpeech(text, this.format, this.state.options.msPerCharacter);
    if (audio.byteLength === 0) return;
    if (!this.waitedFirstByte) {
      this.waitedFirstByte = true;
      await this.delay(this.state.options.firstByteLatency());
    }
    const { chunkDurationMs } = this.state.options;
    const bytesPerChunk = Math.max(
      2,
      Math.round((chunkDurationMs * this.format.sampleRateHz) / 1000) *
        (this.format.encoding === 'pcm16' ? 2 : 1),
    );
    for (let offset = 0; offset < audio.byteLength; offset += bytesPerChunk) {
      if (this.stopped) return;
      if (offset > 0) {
        await this.delay(this.state.options.chunkInterval());
        if (this.stopped) return;
      }
      const chunk = audio.subarray(offset, offset + bytesPerChunk);
      if (!this.send(chunk)) {
        this.stopped = true;
        return;
      }
      this.utterance.firstAudioSentAtMs ??= this.state.now();
      this.utterance.audioBytesSent += chunk.byteLength;
      this.state.changed();
      if (this.utterance.failure === 'drop') {
        this.stopped = true;
        this.drop();
        return;
      }
    }
  }

  /** Always yields to the event loop, even for 0 ms, so cancels can arrive between chunks. */
  private delay(ms: number): Promise<void> {
    // A zero delay needs no timer (which Node rounds up to 1 ms); setImmediate still lets I/O in.
    if (ms <= 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => this.state.options.clock.setTimer(ms, resolve));
  }
}

/** Writes a raw HTTP refusal on an upgrade socket (before any WebSocket exists). */
export function refuseUpgrade(
  socket: { write(data: string): unknown; destroy(): void },
  status: number,
  body: string,
): void {
  const reason = status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Bad Request';
  socket.write(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroy();
}

/** An HTTP server that only upgrades to WebSockets (plain requests get 404): the WebSocket vendors' shape. */
export function webSocketOnlyServer(): {
  server: Server;
  wss: WebSocketServer;
  /** Listens on 127.0.0.1 and returns the `ws://` base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
} {
  const server = createServer((_request, response) => {
    response.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  return {
    server,
    wss,
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
