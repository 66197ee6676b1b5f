// Speech recognition: forwards caller audio to the recogniser (in the carrier's own format when the
// vendor takes it) and turns its results into transcript frames. A dropped stream is reopened so the
// call keeps listening.
import { AudioBatcher } from '../audio/audio-batcher.js';
import { AudioConverter, sameFormat } from '../audio/convert.js';
import { bytesForDurationMs, type AudioFormat } from '../audio/format.js';
import type { Direction, Frame } from '../pipeline/frames.js';
import { FrameProcessor } from '../pipeline/processor.js';
import { isAbort, ProviderError } from '../providers/errors.js';
import type { SttProvider, SttStream } from '../providers/stt.js';
import type { LatencyTracker } from '../session/latency.js';

export interface SttProcessorOptions {
  provider: SttProvider;
  /** The format caller audio arrives in. */
  inputFormat: AudioFormat;
  language: string;
  keywords?: readonly string[];
  /** The vendor's endpointing, kept shorter than ours so its finals arrive before our silence ends. */
  endpointingMs?: number;
  /** Reopen attempts after the stream fails, per call. */
  maxReopens?: number;
  latency?: LatencyTracker;
  /**
   * Audio per message to the recogniser while the caller speaks (default 40 ms) and while they are
   * silent (default 200 ms; vendors take 20–250 ms). Speech onset, finalize and the call's end send
   * what is gathered at once, so transcripts are never held back by silence batching.
   */
  speechBatchMs?: number;
  silenceBatchMs?: number;
}

const DEFAULT_SPEECH_BATCH_MS = 40;
const DEFAULT_SILENCE_BATCH_MS = 200;

export class SttProcessor extends FrameProcessor {
  readonly name = 'stt';
  private readonly options: SttProcessorOptions;
  private readonly controller = new AbortController();
  private readonly streamFormat: AudioFormat;
  private readonly converter: AudioConverter | null;
  private stream: SttStream | null = null;
  private opening: Promise<void> | null = null;
  /** Audio that arrived while the stream was (re)opening. */
  private pending: Uint8Array[] = [];
  private reopens = 0;
  private closed = false;
  private readonly batcher: AudioBatcher;
  private readonly speechBatchBytes: number;
  private readonly silenceBatchBytes: number;
  /** The VAD hears the caller: their audio goes out in small batches, for prompt interim words. */
  private callerSpeaking = false;

  constructor(options: SttProcessorOptions) {
    super();
    this.options = options;
    const formats = options.provider.capabilities.inputFormats;
    const native = formats.find((format) => sameFormat(format, options.inputFormat));
    this.streamFormat = native ?? formats[0]!;
    this.converter = native ? null : new AudioConverter(options.inputFormat, this.streamFormat);
    this.speechBatchBytes = bytesForDurationMs(
      options.speechBatchMs ?? DEFAULT_SPEECH_BATCH_MS,
      this.streamFormat,
    );
    this.silenceBatchBytes = Math.max(
      this.speechBatchBytes,
      bytesForDurationMs(options.silenceBatchMs ?? DEFAULT_SILENCE_BATCH_MS, this.streamFormat),
    );
    this.batcher = new AudioBatcher(this.silenceBatchBytes, (audio) => {
      if (this.stream) this.stream.sendAudio(audio);
      else this.pending.push(audio.slice()); // the batcher reuses its buffer
    });
  }

  protected override process(frame: Frame, direction: Direction): void {
    switch (frame.type) {
      case 'start':
        this.open();
        break;
      case 'audio.in': {
        // Caller audio stops here: nothing downstream of recognition needs it.
        const audio = this.converter ? this.converter.convert(frame.audio) : frame.audio;
        this.batcher.add(audio, this.callerSpeaking ? this.speechBatchBytes : this.silenceBatchBytes);
        return;
      }
      case 'vad.speech.start':
        this.callerSpeaking = true;
        this.batcher.flush();
        break;
      case 'vad.speech.stop':
        this.callerSpeaking = false;
        break;
      case 'stt.finalize':
        this.batcher.flush();
        this.stream?.finalize();
        return;
      case 'end':
        void this.closeStream();
        break;
    }
    this.push(frame, direction);
  }

  override async close(): Promise<void> {
    await this.closeStream();
    this.controller.abort();
  }

  private open(): void {
    if (this.opening || this.closed) return;
    this.opening = this.openAndRead().finally(() => (this.opening = null));
  }

  private async openAndRead(): Promise<void> {
    const signal = this.controller.signal;
    try {
      const stream = await this.options.provider.stream({
        format: this.streamFormat,
        language: this.options.language,
        signal,
        ...(this.options.keywords ? { keywords: this.options.keywords } : {}),
        ...(this.options.endpointingMs !== undefined ? { endpointingMs: this.options.endpointingMs } : {}),
      });
      this.stream = stream;
      for (const audio of this.pending.splice(0)) stream.sendAudio(audio);
      for await (const event of stream) {
        const atMs = this.ctx.callTimeMs();
        switch (event.type) {
          case 'interim':
            if (event.text.trim()) this.push({ type: 'transcript.interim', text: event.text, atMs });
            break;
          case 'final':
            if (event.text.trim()) this.options.latency?.markCaller('finalTranscript', atMs);
            this.push({ type: 'transcript.final', text: event.text, speechFinal: event.speechFinal, atMs });
            break;
          case 'utterance_end':
            this.push({ type: 'stt.utterance_end', atMs });
            break;
          case 'speech_started':
            this.push({ type: 'stt.speech_started', atMs });
            break;
        }
      }
      this.stream = null;
    } catch (error) {
      this.stream = null;
      if (isAbort(error, signal) || this.closed) return;
      const category = error instanceof ProviderError ? error.category : 'internal';
      const canReopen = this.reopens < (this.options.maxReopens ?? 3) && category !== 'auth';
      this.ctx.emit({
        type: 'error',
        code: `stt_${category}`,
        message: error instanceof Error ? error.message : String(error),
        fatal: !canReopen,
      });
      if (canReopen) {
        this.reopens++;
        queueMicrotask(() => this.open());
      }
    }
  }

  private async closeStream(): Promise<void> {
    if (!this.closed) this.batcher.flush();
    this.closed = true;
    const stream = this.stream;
    this.stream = null;
    // The call is over either way; a recogniser that fails to close cleanly is only worth a record.
    if (stream) {
      await stream
        .close()
        .catch((error: unknown) =>
          this.ctx.emit({ type: 'error', code: 'stt_close_failed', message: String(error), fatal: false }),
        );
    }
  }
}
