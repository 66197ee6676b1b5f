// A cheap energy detector (a few µs per window): the window's level above an adaptive noise floor,
// in dBFS. It cannot tell speech from a tone, a cough or a click, so it is the fallback when the
// Silero model is unavailable or a configured cheap option, not the default.
import { pcm16Dbfs } from '../audio/pcm16.js';
import type { VadWindowResult } from './silero.js';
import { WindowSplitter } from './window-splitter.js';

export interface EnergyVadOptions {
  sampleRateHz: 8000 | 16000;
  /** Window length (default 32 ms, the same as Silero's windows). */
  windowMs?: number;
  /** Level above the noise floor that scores 0.5; the score ramps from 6 dB below to 6 dB above it. */
  speechAboveFloorDb?: number;
  /** Anything quieter than this scores 0, whatever the floor (digital silence, distant hiss). */
  minSpeechDbfs?: number;
  /** How fast the floor may climb when the line gets louder; slow, so speech does not become floor. */
  floorRiseDbPerSecond?: number;
}

/** Levels are clamped here so digital silence (-Infinity dBFS) stays arithmetic. */
const MIN_LEVEL_DBFS = -100;
/** The first window seeds the floor, but never above this: a call that opens with speech still scores. */
const MAX_INITIAL_FLOOR_DBFS = -45;
/** Share of the gap closed per window when the level drops below the floor (fast: ≈ 3 windows). */
const FLOOR_FALL_SHARE = 0.5;
/** Half-width of the score ramp around `speechAboveFloorDb`. */
const RAMP_HALF_WIDTH_DB = 6;

export class EnergyVad {
  readonly sampleRateHz: 8000 | 16000;
  readonly windowSamples: number;
  private readonly speechAboveFloorDb: number;
  private readonly minSpeechDbfs: number;
  private readonly floorRiseDbPerWindow: number;
  private noiseFloorDbfs: number | null = null;
  private readonly windows: WindowSplitter;

  constructor(options: EnergyVadOptions) {
    this.sampleRateHz = options.sampleRateHz;
    const windowMs = options.windowMs ?? 32;
    this.windowSamples = Math.max(1, Math.round((windowMs * options.sampleRateHz) / 1000));
    this.speechAboveFloorDb = options.speechAboveFloorDb ?? 12;
    this.minSpeechDbfs = options.minSpeechDbfs ?? -50;
    this.floorRiseDbPerWindow = ((options.floorRiseDbPerSecond ?? 3) * windowMs) / 1000;
    this.windows = new WindowSplitter(this.windowSamples);
  }

  /** The current noise floor estimate (null before the first window). */
  get noiseFloor(): number | null {
    return this.noiseFloorDbfs;
  }

  /** Adds PCM16 samples at `sampleRateHz` (any frame size); returns every window they complete. */
  push(samples: Int16Array): VadWindowResult[] {
    const out: VadWindowResult[] = [];
    this.windows.push(samples, (window, endSampleOffset) =>
      out.push({
        probability: this.score(Math.max(MIN_LEVEL_DBFS, pcm16Dbfs(window))),
        endSampleOffset,
        endMs: (endSampleOffset * 1000) / this.sampleRateHz,
      }),
    );
    return out;
  }

  /** Drops the partial window; the noise floor is a property of the line, so it is kept. */
  reset(): void {
    this.windows.reset();
  }

  close(): void {}

  private score(levelDbfs: number): number {
    const floor = this.noiseFloorDbfs ?? Math.min(levelDbfs, MAX_INITIAL_FLOOR_DBFS);
    const aboveFloorDb = levelDbfs - floor;
    // Scored against the floor before this window moves it.
    const probability =
      levelDbfs < this.minSpeechDbfs
        ? 0
        : clamp01((aboveFloorDb - this.speechAboveFloorDb + RAMP_HALF_WIDTH_DB) / (2 * RAMP_HALF_WIDTH_DB));
    this.noiseFloorDbfs =
      levelDbfs < floor
        ? floor + FLOOR_FALL_SHARE * (levelDbfs - floor)
        : floor + Math.min(aboveFloorDb, this.floorRiseDbPerWindow);
    return probability;
  }
}

function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}
