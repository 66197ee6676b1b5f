// Window probabilities → speech segments, with hysteresis: a segment starts after `minSpeechMs` of
// windows at or above `startThreshold`, and stops after `minSilenceMs` of windows below the lower
// `stopThreshold`. The gap between the thresholds keeps a segment from flickering on a soft syllable.
// `minSilenceMs` stays short: the turn-taking layer does endpointing on top of these segments.
// Pure and synchronous: times come from the windows (ms of audio since the stream started), so the
// same audio always yields the same events, with no timers.

export interface VadSpeechDetectorOptions {
  /** Probability at or above which a window counts as speech while silent (default 0.5). */
  startThreshold?: number;
  /** Probability below which a window counts as silence while speaking (default 0.35). */
  stopThreshold?: number;
  /** Speech needed to start a segment (default 64 ms: two Silero windows). */
  minSpeechMs?: number;
  /** Silence needed to end one (default 100 ms). */
  minSilenceMs?: number;
  /** Length of the first window, which has no previous end to measure from (default 32 ms). */
  windowMs?: number;
}

/** One window as the detector reads it (a `VadWindowResult` fits). */
export interface VadDetectorInput {
  probability: number;
  /** End of the window in ms of audio since the stream started. */
  endMs: number;
}

/** Every window's decision, so higher layers can log why a segment started or did not. */
export interface VadWindowDecision {
  type: 'window';
  probability: number;
  /** End of the window. */
  atMs: number;
  /** Above the threshold that applies in the current state (start while silent, stop while speaking). */
  voiced: boolean;
  /** In a speech segment after this window. */
  speaking: boolean;
}

export interface VadSpeechStartEvent {
  type: 'speech_start';
  /** Onset: the start of the first voiced window of the run that confirmed the segment. */
  atMs: number;
  /** End of the window that confirmed it (when a live caller could act on it). */
  decidedAtMs: number;
  /** Highest probability in the confirming run. */
  probability: number;
}

export interface VadSpeechStopEvent {
  type: 'speech_stop';
  /** End of the window that confirmed the silence. */
  atMs: number;
  /** End of the last window at or above the stop threshold. */
  lastVoicedAtMs: number;
  /** From the segment's onset to `lastVoicedAtMs`. */
  speechDurationMs: number;
}

export type VadSpeechEvent = VadSpeechStartEvent | VadSpeechStopEvent;
export type VadDetectorEvent = VadWindowDecision | VadSpeechEvent;

export const DEFAULT_VAD_DETECTOR_OPTIONS: Required<VadSpeechDetectorOptions> = {
  startThreshold: 0.5,
  stopThreshold: 0.35,
  minSpeechMs: 64,
  minSilenceMs: 100,
  windowMs: 32,
};

export class VadSpeechDetector {
  readonly options: Readonly<Required<VadSpeechDetectorOptions>>;
  private speakingNow = false;
  private previousEndMs: number | null = null;
  /** Onset of the current run of voiced windows while silent. */
  private runStartMs: number | null = null;
  private runPeakProbability = 0;
  private segmentStartMs = 0;
  private lastVoicedAtMs = 0;

  constructor(options: VadSpeechDetectorOptions = {}) {
    const merged = { ...DEFAULT_VAD_DETECTOR_OPTIONS, ...definedOnly(options) };
    if (merged.stopThreshold > merged.startThreshold) {
      throw new RangeError('stopThreshold must not exceed startThreshold');
    }
    this.options = merged;
  }

  get speaking(): boolean {
    return this.speakingNow;
  }

  /** Reads one window; returns its decision, then a speech event when this window confirmed one. */
  push(window: VadDetectorInput): VadDetectorEvent[] {
    const { probability, endMs } = window;
    const startMs = this.previousEndMs ?? endMs - this.options.windowMs;
    this.previousEndMs = endMs;
    return this.speakingNow
      ? this.whileSpeaking(probability, endMs)
      : this.whileSilent(probability, startMs, endMs);
  }

  /** Reads several windows in order. */
  pushAll(windows: readonly VadDetectorInput[]): VadDetectorEvent[] {
    const events: VadDetectorEvent[] = [];
    for (const window of windows) events.push(...this.push(window));
    return events;
  }

  /** Back to silence with no history (for a discontinuity such as a new turn or a reset stream). */
  reset(): void {
    this.speakingNow = false;
    this.previousEndMs = null;
    this.runStartMs = null;
    this.runPeakProbability = 0;
  }

  private whileSilent(probability: number, startMs: number, endMs: number): VadDetectorEvent[] {
    const voiced = probability >= this.options.startThreshold;
    if (!voiced) {
      this.runStartMs = null;
      this.runPeakProbability = 0;
      return [{ type: 'window', probability, atMs: endMs, voiced, speaking: false }];
    }
    this.runStartMs ??= startMs;
    this.runPeakProbability = Math.max(this.runPeakProbability, probability);
    if (endMs - this.runStartMs < this.options.minSpeechMs) {
      return [{ type: 'window', probability, atMs: endMs, voiced, speaking: false }];
    }
    this.speakingNow = true;
    this.segmentStartMs = this.runStartMs;
    this.lastVoicedAtMs = endMs;
    const start: VadSpeechStartEvent = {
      type: 'speech_start',
      atMs: this.runStartMs,
      decidedAtMs: endMs,
      probability: this.runPeakProbability,
    };
    this.runStartMs = null;
    this.runPeakProbability = 0;
    return [{ type: 'window', probability, atMs: endMs, voiced, speaking: true }, start];
  }

  private whileSpeaking(probability: number, endMs: number): VadDetectorEvent[] {
    const voiced = probability >= this.options.stopThreshold;
    if (voiced) {
      this.lastVoicedAtMs = endMs;
      return [{ type: 'window', probability, atMs: endMs, voiced, speaking: true }];
    }
    if (endMs - this.lastVoicedAtMs < this.options.minSilenceMs) {
      return [{ type: 'window', probability, atMs: endMs, voiced, speaking: true }];
    }
    this.speakingNow = false;
    return [
      { type: 'window', probability, atMs: endMs, voiced, speaking: false },
      {
        type: 'speech_stop',
        atMs: endMs,
        lastVoicedAtMs: this.lastVoicedAtMs,
        speechDurationMs: this.lastVoicedAtMs - this.segmentStartMs,
      },
    ];
  }
}

/** Drops keys set to undefined so they do not override the defaults. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
