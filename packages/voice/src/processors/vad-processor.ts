// Voice activity: decodes caller audio to PCM at the detector's rate, asks the call's VAD stream (one
// shared, batched model per process) for speech probabilities and turns them into speech start/stop
// frames with hysteresis. Caller audio is passed on at once; VAD results follow as they come.
import { AudioConverter, decodeToPcm16 } from '../audio/convert.js';
import type { AudioFormat } from '../audio/format.js';
import type { Direction, Frame } from '../pipeline/frames.js';
import { FrameProcessor } from '../pipeline/processor.js';
import type { LatencyTracker } from '../session/latency.js';

/** One analysed window: its speech probability and where it ends, in ms of audio since the stream began. */
export interface VadWindow {
  probability: number;
  endMs: number;
}

/** A call's voice activity detector (Silero, energy): takes PCM16 at `sampleRateHz`. */
export interface VadAnalyzer {
  readonly sampleRateHz: 8000 | 16000;
  push(samples: Int16Array): Promise<readonly VadWindow[]> | readonly VadWindow[];
  close(): void;
}

export interface SpeechThresholds {
  /** Probability at or above which a window is voiced. */
  startThreshold: number;
  /** Probability below which a window is unvoiced (hysteresis between the two). */
  stopThreshold: number;
  /** Voiced audio needed to start a speech segment. */
  minSpeechMs: number;
  /** Unvoiced audio needed to end one (endpointing waits longer on top of this). */
  minSilenceMs: number;
}

export const DEFAULT_SPEECH_THRESHOLDS: SpeechThresholds = {
  startThreshold: 0.5,
  stopThreshold: 0.35,
  minSpeechMs: 64,
  minSilenceMs: 96,
};

export interface VadProcessorOptions {
  analyzer: VadAnalyzer;
  inputFormat: AudioFormat;
  thresholds?: Partial<SpeechThresholds>;
  latency?: LatencyTracker;
}

export class VadProcessor extends FrameProcessor {
  readonly name = 'vad';
  private readonly options: VadProcessorOptions;
  private readonly thresholds: SpeechThresholds;
  private readonly converter: AudioConverter | null;
  /** Call time of the first audio: VAD window times are offsets from it. */
  private originMs: number | null = null;
  private speaking = false;
  private voicedSinceMs: number | null = null;
  private unvoicedSinceMs: number | null = null;
  private speechStartMs = 0;
  private lastVoicedMs = 0;
  private peakProbability = 0;
  /** Keeps results in order when the analyzer answers asynchronously. */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: VadProcessorOptions) {
    super();
    this.options = options;
    this.thresholds = { ...DEFAULT_SPEECH_THRESHOLDS, ...options.thresholds };
    const { inputFormat, analyzer } = options;
    this.converter =
      inputFormat.sampleRateHz === analyzer.sampleRateHz
        ? null
        : new AudioConverter(inputFormat, {
            encoding: 'pcm16',
            sampleRateHz: analyzer.sampleRateHz,
            channels: 1,
          });
  }

  protected override process(frame: Frame, direction: Direction): void {
    if (frame.type === 'audio.in') {
      this.originMs ??= frame.atMs;
      const samples = this.converter
        ? decodeToPcm16(this.converter.convert(frame.audio), this.converter.to)
        : decodeToPcm16(frame.audio, frame.format);
      const result = this.options.analyzer.push(samples);
      if (isPromise(result)) {
        this.chain = this.chain.then(
          () => result.then((windows) => this.onWindows(windows)),
          () => {},
        );
        this.chain.catch((error: unknown) => this.ctx.fail(this.name, error));
      } else {
        this.onWindows(result);
      }
    }
    this.push(frame, direction);
  }

  override async close(): Promise<void> {
    this.options.analyzer.close();
  }

  private onWindows(windows: readonly VadWindow[]): void {
    for (const window of windows) this.onWindow(window.probability, (this.originMs ?? 0) + window.endMs);
  }

  /** Hysteresis over window probabilities; times are call times of the window's end. */
  private onWindow(probability: number, atMs: number): void {
    const t = this.thresholds;
    if (!this.speaking) {
      if (probability >= t.startThreshold) {
        this.voicedSinceMs ??= atMs;
        this.peakProbability = Math.max(this.peakProbability, probability);
        // A window's end time, so voiced audio spans from a window length before the first one.
        if (atMs - this.voicedSinceMs + this.windowMs(atMs) >= t.minSpeechMs) {
          this.speaking = true;
          this.speechStartMs = this.voicedSinceMs - this.windowMs(atMs);
          this.lastVoicedMs = atMs;
          this.unvoicedSinceMs = null;
          this.push({
            type: 'vad.speech.start',
            atMs: this.speechStartMs,
            probability: this.peakProbability,
          });
        }
      } else {
        this.voicedSinceMs = null;
        this.peakProbability = 0;
      }
      return;
    }
    if (probability >= t.stopThreshold) {
      this.lastVoicedMs = atMs;
      this.unvoicedSinceMs = null;
      return;
    }
    this.unvoicedSinceMs ??= atMs;
    if (atMs - this.lastVoicedMs >= t.minSilenceMs) {
      this.speaking = false;
      this.voicedSinceMs = null;
      this.peakProbability = 0;
      this.options.latency?.markCaller('lastVoiced', this.lastVoicedMs);
      this.push({
        type: 'vad.speech.stop',
        atMs,
        lastVoicedAtMs: this.lastVoicedMs,
        speechDurationMs: this.lastVoicedMs - this.speechStartMs,
      });
    }
  }

  private lastWindowEndMs = 0;
  private windowMs(atMs: number): number {
    const length = this.lastWindowEndMs > 0 ? atMs - this.lastWindowEndMs : 0;
    this.lastWindowEndMs = atMs;
    return length > 0 ? length : 32;
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}
