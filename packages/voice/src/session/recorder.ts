// Dual-channel call recording: the caller on the left, the agent on the right, aligned on the call's
// clock and written to the WAV as the call goes (synced about once a second, so a crash loses at most
// the last second). Only a few hundred milliseconds of audio are ever held in memory.
import type { AudioFormat } from '../audio/format.js';
import { AudioConverter, decodeToPcm16 } from '../audio/convert.js';
import type { WavWriter } from '../audio/wav-writer.js';

export interface CallRecorderOptions {
  writer: WavWriter;
  /** The recording's rate (the caller's rate: usually 8000). */
  sampleRateHz: number;
  callerFormat: AudioFormat;
  agentFormat: AudioFormat;
  syncEveryMs?: number;
}

export class CallRecorder {
  private readonly options: CallRecorderOptions;
  private readonly agentConverter: AudioConverter | null;
  private readonly callerConverter: AudioConverter | null;
  /** Samples already written to the file (both channels). */
  private flushed = 0;
  /** Caller samples after `flushed`. */
  private left: Int16Array = new Int16Array(4096);
  private leftLength = 0;
  /** Agent samples after `flushed`, placed where they play; zero where the agent was silent. */
  private right: Int16Array = new Int16Array(4096);
  private rightLength = 0;
  private lastSyncAt = 0;
  private closed = false;

  constructor(options: CallRecorderOptions) {
    this.options = options;
    const pcmAt = (format: AudioFormat): AudioFormat => ({
      ...format,
      encoding: 'pcm16',
      sampleRateHz: options.sampleRateHz as AudioFormat['sampleRateHz'],
    });
    this.callerConverter =
      options.callerFormat.sampleRateHz === options.sampleRateHz
        ? null
        : new AudioConverter(options.callerFormat, pcmAt(options.callerFormat));
    this.agentConverter =
      options.agentFormat.sampleRateHz === options.sampleRateHz
        ? null
        : new AudioConverter(options.agentFormat, pcmAt(options.agentFormat));
  }

  /** Caller audio, appended in arrival order (the phone line is continuous); `pcm16` if already decoded. */
  caller(audio: Uint8Array, pcm16?: Int16Array): void {
    if (this.closed) return;
    const samples =
      pcm16 && !this.callerConverter
        ? pcm16
        : this.toSamples(audio, this.options.callerFormat, this.callerConverter);
    this.left = ensure(this.left, this.leftLength + samples.length);
    this.left.set(samples, this.leftLength);
    this.leftLength += samples.length;
    this.flush(false);
  }

  /** Agent audio sent at call time `atMs`: it plays right after what was sent before, or at `atMs`. */
  agent(audio: Uint8Array, atMs: number): void {
    if (this.closed) return;
    const samples = this.toSamples(audio, this.options.agentFormat, this.agentConverter);
    const wanted = Math.round((atMs * this.options.sampleRateHz) / 1000) - this.flushed;
    const start = Math.max(this.rightLength, wanted, 0);
    this.right = ensure(this.right, start + samples.length);
    this.right.fill(0, this.rightLength, start);
    this.right.set(samples, start);
    this.rightLength = start + samples.length;
  }

  /** Barge-in: agent audio queued past `atMs` was never heard; take it out of the recording. */
  truncateAgent(atMs: number): void {
    const keep = Math.round((atMs * this.options.sampleRateHz) / 1000) - this.flushed;
    if (keep >= 0 && keep < this.rightLength) this.rightLength = keep;
  }

  /** Writes everything, padding both channels with silence up to the call's duration. */
  async close(durationMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const total = Math.max(
      Math.round((durationMs * this.options.sampleRateHz) / 1000) - this.flushed,
      this.leftLength,
      this.rightLength,
    );
    this.left = ensure(this.left, total);
    this.left.fill(0, this.leftLength, total);
    this.leftLength = total;
    this.right = ensure(this.right, total);
    this.right.fill(0, this.rightLength, total);
    this.rightLength = total;
    this.flush(true);
    await this.options.writer.close();
  }

  private toSamples(audio: Uint8Array, format: AudioFormat, converter: AudioConverter | null): Int16Array {
    if (converter) return decodeToPcm16(converter.convert(audio), converter.to);
    return decodeToPcm16(audio, format);
  }

  /** Writes the caller's samples so far, with whatever the agent said over the same span. */
  private flush(final: boolean): void {
    const count = this.leftLength;
    if (count === 0) return;
    if (this.rightLength < count) {
      this.right = ensure(this.right, count);
      this.right.fill(0, this.rightLength, count);
    }
    this.options.writer.writeStereo(this.left.slice(0, count), this.right.slice(0, count));
    this.left.copyWithin(0, count, this.leftLength);
    this.leftLength -= count;
    const rightRest = Math.max(0, this.rightLength - count);
    this.right.copyWithin(0, count, count + rightRest);
    this.rightLength = rightRest;
    this.flushed += count;
    const syncEvery = ((this.options.syncEveryMs ?? 1000) * this.options.sampleRateHz) / 1000;
    if (!final && this.flushed - this.lastSyncAt >= syncEvery) {
      this.lastSyncAt = this.flushed;
      void this.options.writer.sync();
    }
  }
}

function ensure(buffer: Int16Array, length: number): Int16Array {
  if (buffer.length >= length) return buffer;
  const grown = new Int16Array(Math.max(length, buffer.length * 2));
  grown.set(buffer);
  return grown;
}
