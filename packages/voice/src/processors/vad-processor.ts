// Voice activity: decodes caller audio to PCM at the detector's rate, asks the call's VAD stream (one
// shared, batched model per process) for speech probabilities and turns them into speech start/stop
// frames with hysteresis. Caller audio is passed on at once; VAD results follow as they come.
import { AudioConverter, decodeToPcm16 } from '../audio/convert.js';
import type { AudioFormat } from '../audio/format.js';
import type { Direction, Frame } from '../pipeline/frames.js';
import { FrameProcessor } from '../pipeline/processor.js';
import type { LatencyTracker } from '../session/latency.js';
import { VadSpeechDetector, type VadSpeechDetectorOptions } from '../vad/detector.js';

/** One analysed window: its speech probability and where it ends, in ms of audio since the stream began. */
export interface VadWindow {
  probability: number;
  endMs: number;
}

/** A call's voice activity detector (Silero, energy): takes PCM16 at `sampleRateHz`. */
export interface VadAnalyzer {
  readonly sampleRateHz: 8000 | 16000;
  push(samples: Int16Array): Promise<readonly VadWindow[]> | readonly VadWindow[];
  /**
   * Optional promise-free `push` for asynchronous analyzers: results go to `onWindows` in push order.
   * Preferred when present (the audio path runs it for every frame of every call).
   */
  feed?(
    samples: Int16Array,
    onWindows: (windows: readonly VadWindow[]) => void,
    onError: (error: unknown) => void,
  ): void;
  close(): void;
}

export interface VadProcessorOptions {
  analyzer: VadAnalyzer;
  inputFormat: AudioFormat;
  /** Hysteresis of speech start/stop (thresholds, minimum speech and silence). */
  detector?: VadSpeechDetectorOptions;
  latency?: LatencyTracker;
}

export class VadProcessor extends FrameProcessor {
  readonly name = 'vad';
  private readonly options: VadProcessorOptions;
  private readonly detector: VadSpeechDetector;
  private readonly converter: AudioConverter | null;
  /** Call time of the first audio: VAD window times are offsets from it. */
  private originMs: number | null = null;
  /** Keeps results in order when the analyzer answers asynchronously. */
  private chain: Promise<void> = Promise.resolve();

  constructor(options: VadProcessorOptions) {
    super();
    this.options = options;
    this.detector = new VadSpeechDetector(options.detector ?? {});
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
        : (frame.pcm16 ?? decodeToPcm16(frame.audio, frame.format));
      const { analyzer } = this.options;
      if (analyzer.feed) {
        analyzer.feed(samples, this.onWindows, this.onAnalyzerError);
        this.push(frame, direction);
        return;
      }
      const result = analyzer.push(samples);
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

  private readonly onAnalyzerError = (error: unknown): void => this.ctx.fail(this.name, error);

  /** Window times are audio time of this stream; frames carry call time. */
  private readonly onWindows = (windows: readonly VadWindow[]): void => {
    const origin = this.originMs ?? 0;
    for (const event of this.detector.pushAll(windows)) {
      if (event.type === 'speech_start') {
        this.push({ type: 'vad.speech.start', atMs: origin + event.atMs, probability: event.probability });
      } else if (event.type === 'speech_stop') {
        this.options.latency?.markCaller('lastVoiced', origin + event.lastVoicedAtMs);
        this.push({
          type: 'vad.speech.stop',
          atMs: origin + event.atMs,
          lastVoicedAtMs: origin + event.lastVoicedAtMs,
          speechDurationMs: event.speechDurationMs,
        });
      }
    }
  };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}
