// Streaming sample-rate conversion between the core's rates (8/16/24/48 kHz), PCM16 mono.
//
// A rational polyphase resampler: conceptually upsample by L, low-pass at the lower of the two Nyquist
// frequencies, downsample by M, computing only the outputs that are kept. The low-pass is a
// Kaiser-windowed sinc; its taps are split into L phases and precomputed once per rate pair (shared
// by every call), so the hot path is a dot product per output sample and allocates only the output.
//
// Output is time-aligned with the input (output sample m is the input's value at time m / toHz), so
// chunk boundaries, recordings and totals line up; the price is `delaySamples` of latency: `process()`
// holds back the outputs whose filter window reaches past the input seen so far, and `flush()` emits
// them at the end of the stream.
import type { SampleRateHz } from './format.js';
import { clampPcm16 } from './pcm16.js';

/** Filter half-width in samples at the lower rate (≈ sinc zero crossings per side). */
const HALF_WIDTH_LOW_RATE_SAMPLES = 20;
/** −6 dB point as a share of the lower Nyquist frequency; the stopband starts just above Nyquist. */
const CUTOFF_SHARE_OF_NYQUIST = 0.91;
/** Kaiser β for ≈ 70 dB sidelobes (β = 0.1102·(A − 8.7)). */
const KAISER_BETA = 7;

interface PolyphaseTable {
  /** Upsampling factor L (number of phases). */
  up: number;
  /** Downsampling factor M. */
  down: number;
  /** Taps per phase. */
  tapsPerPhase: number;
  /** Input offset (relative to floor(m·M / L)) of each phase's first tap; ≤ 0. */
  firstTapOffset: number;
  /** Input offset of each phase's last tap; how far past "now" an output looks. */
  lastTapOffset: number;
  /** `up` rows of `tapsPerPhase` taps, row p for outputs whose up-rate time is ≡ p (mod L). */
  taps: Float64Array;
  /** Output samples held back by `process()` (latency), rounded up. */
  delaySamples: number;
}

const tables = new Map<string, PolyphaseTable>();

function polyphaseTable(fromHz: number, toHz: number): PolyphaseTable {
  const key = `${fromHz}>${toHz}`;
  let table = tables.get(key);
  if (!table) {
    table = buildTable(fromHz, toHz);
    tables.set(key, table);
  }
  return table;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for β ≤ 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarterSquare = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= quarterSquare / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function buildTable(fromHz: number, toHz: number): PolyphaseTable {
  const divisor = gcd(fromHz, toHz);
  const up = toHz / divisor;
  const down = fromHz / divisor;
  const upRateHz = fromHz * up;
  const lowerHz = Math.min(fromHz, toHz);
  const cutoffHz = (CUTOFF_SHARE_OF_NYQUIST * lowerHz) / 2;
  // Half-width of the prototype filter in up-rate samples.
  const halfWidth = (HALF_WIDTH_LOW_RATE_SAMPLES * upRateHz) / lowerHz;
  // Up-rate distance from an output to input n0 + d is τ = p − d·L for phase p; keep |τ| < halfWidth.
  // (halfWidth is a whole number: the up-rate is a multiple of the lower rate.)
  const firstTapOffset = Math.floor(-halfWidth / up) + 1;
  const lastTapOffset = Math.ceil((up - 1 + halfWidth) / up) - 1;
  const tapsPerPhase = lastTapOffset - firstTapOffset + 1;
  const taps = new Float64Array(up * tapsPerPhase);
  const i0Beta = besselI0(KAISER_BETA);
  for (let phase = 0; phase < up; phase++) {
    let sum = 0;
    for (let j = 0; j < tapsPerPhase; j++) {
      const tau = phase - (firstTapOffset + j) * up;
      const r = tau / halfWidth;
      if (Math.abs(r) >= 1) continue;
      const x = (2 * cutoffHz * tau) / upRateHz;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
      const tap = sinc * window;
      taps[phase * tapsPerPhase + j] = tap;
      sum += tap;
    }
    // Each phase sums to exactly 1 so DC passes unchanged on every output (no ripple at the input rate).
    for (let j = 0; j < tapsPerPhase; j++) taps[phase * tapsPerPhase + j]! /= sum;
  }
  return {
    up,
    down,
    tapsPerPhase,
    firstTapOffset,
    lastTapOffset,
    taps,
    delaySamples: Math.ceil((lastTapOffset * up) / down),
  };
}

const EMPTY = new Int16Array(0);

/**
 * Converts a PCM16 mono stream from `fromHz` to `toHz`, chunk by chunk. Feeding the input in any
 * chunking gives exactly the same samples as one call with all of it; the stream's total output is
 * ceil(inputSamples · toHz / fromHz) once `flush()` has run.
 */
export class StreamingResampler {
  readonly fromHz: SampleRateHz;
  readonly toHz: SampleRateHz;
  /** Latency in output samples: how many outputs `process()` holds back until more input (or flush). */
  readonly delaySamples: number;
  private readonly table: PolyphaseTable | null;
  /**
   * Input history as floats (the dot product runs about twice as fast without int→float conversion);
   * `history[0]` is input sample number `historyStart` (negative numbers are the zeros before the start).
   */
  private history = new Float64Array(0);
  private historyLength = 0;
  private historyStart = 0;
  /** Input samples received since the start of the stream. */
  private inputCount = 0;
  /** Index of the next output sample to produce. */
  private outputCount = 0;

  constructor(fromHz: SampleRateHz, toHz: SampleRateHz) {
    this.fromHz = fromHz;
    this.toHz = toHz;
    this.table = fromHz === toHz ? null : polyphaseTable(fromHz, toHz);
    this.delaySamples = this.table?.delaySamples ?? 0;
    this.reset();
  }

  /**
   * Resamples the next chunk. At the identity ratio the input is returned as is; otherwise a new
   * array with every output the input so far determines.
   */
  process(samples: Int16Array): Int16Array {
    const table = this.table;
    if (!table) return samples;
    this.append(samples);
    this.inputCount += samples.length;
    // Output m is ready once input floor(m·M/L) + lastTapOffset has arrived, and never past the
    // stream's end (m·M < inputCount·L).
    const readyEnd = Math.ceil(((this.inputCount - table.lastTapOffset) * table.up) / table.down);
    const streamEnd = Math.ceil((this.inputCount * table.up) / table.down);
    return this.produce(Math.min(readyEnd, streamEnd));
  }

  /** Ends the stream: emits the held-back outputs (the input is taken as silent beyond its end) and resets. */
  flush(): Int16Array {
    const table = this.table;
    if (!table) return EMPTY;
    const streamEnd = Math.ceil((this.inputCount * table.up) / table.down);
    // Pad with the zeros the last outputs' windows reach into.
    this.ensureCapacity(this.historyLength + table.lastTapOffset + 1);
    this.history.fill(0, this.historyLength, this.historyLength + table.lastTapOffset + 1);
    this.historyLength += table.lastTapOffset + 1;
    const tail = this.produce(streamEnd);
    this.reset();
    return tail;
  }

  /** Forgets the stream (for reuse after a discontinuity such as a barge-in). */
  reset(): void {
    const table = this.table;
    this.inputCount = 0;
    this.outputCount = 0;
    this.historyLength = 0;
    if (!table) return;
    // Inputs before the stream's start are zeros, so the first outputs' windows have something to read.
    const leadingZeros = -table.firstTapOffset;
    this.ensureCapacity(leadingZeros);
    this.history.fill(0, 0, leadingZeros);
    this.historyLength = leadingZeros;
    this.historyStart = -leadingZeros;
  }

  private append(samples: Int16Array): void {
    this.ensureCapacity(this.historyLength + samples.length);
    this.history.set(samples, this.historyLength);
    this.historyLength += samples.length;
  }

  private ensureCapacity(length: number): void {
    if (this.history.length >= length) return;
    const grown = new Float64Array(Math.max(length, this.history.length * 2, 256));
    grown.set(this.history.subarray(0, this.historyLength));
    this.history = grown;
  }

  /** Computes outputs up to (not including) `endOutput`, then drops history no later output needs. */
  private produce(endOutput: number): Int16Array {
    const table = this.table!;
    const count = Math.max(0, endOutput - this.outputCount);
    const out = new Int16Array(count);
    const { up, down, tapsPerPhase, firstTapOffset, taps } = table;
    const history = this.history;
    // Up-rate time of the next output is t = m·M = n0·L + phase.
    const t = this.outputCount * down;
    let n0 = Math.floor(t / up);
    let phase = t - n0 * up;
    for (let i = 0; i < count; i++) {
      const base = n0 + firstTapOffset - this.historyStart;
      const row = phase * tapsPerPhase;
      let acc = 0;
      for (let j = 0; j < tapsPerPhase; j++) acc += taps[row + j]! * history[base + j]!;
      out[i] = clampPcm16(Math.round(acc));
      phase += down;
      while (phase >= up) {
        phase -= up;
        n0++;
      }
    }
    this.outputCount += count;
    // The next output's window starts at input n0 + firstTapOffset; everything before it is done.
    const keepFrom = Math.min(n0 + firstTapOffset - this.historyStart, this.historyLength);
    if (keepFrom > 0) {
      history.copyWithin(0, keepFrom, this.historyLength);
      this.historyLength -= keepFrom;
      this.historyStart += keepFrom;
    }
    return out;
  }
}

/** One-shot conversion of a whole PCM16 mono buffer (including the filter's tail). */
export function resamplePcm16(samples: Int16Array, fromHz: SampleRateHz, toHz: SampleRateHz): Int16Array {
  if (fromHz === toHz) return samples.slice();
  const resampler = new StreamingResampler(fromHz, toHz);
  const head = resampler.process(samples);
  const tail = resampler.flush();
  const out = new Int16Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
