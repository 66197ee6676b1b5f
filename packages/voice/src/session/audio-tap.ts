// Supervisor listen: a live copy of both legs of a call, mixed into interleaved stereo PCM16 chunks
// (caller left, agent right) aligned on the call's clock the way the recorder aligns them. A session
// holds one only while someone listens, so a call nobody listens to does no work for it.
import { AudioConverter, decodeToPcm16 } from '../audio/convert.js';
import type { AudioFormat } from '../audio/format.js';

export interface CallAudioTapOptions {
  /** The chunks' rate (the caller's rate: usually 8000). */
  sampleRateHz: number;
  callerFormat: AudioFormat;
  agentFormat: AudioFormat;
  /** Call time at which the tap starts: agent audio is placed relative to it. */
  startAtMs: number;
  /** Length of each chunk (default 100 ms). */
  chunkMs?: number;
  /** One chunk: `chunkMs` of interleaved stereo samples [caller, agent, caller, agent, …]. */
  onChunk: (interleaved: Int16Array) => void;
}

export const DEFAULT_TAP_CHUNK_MS = 100;

export class CallAudioTap {
  readonly sampleRateHz: number;
  private readonly options: CallAudioTapOptions;
  private readonly chunkSamples: number;
  private readonly callerConverter: AudioConverter | null;
  private readonly agentConverter: AudioConverter | null;
  /** Samples (per channel) already sent in chunks. */
  private sent = 0;
  /** Caller samples after `sent`: the phone line is continuous, so its samples pace the chunks. */
  private left: Int16Array = new Int16Array(0);
  private leftLength = 0;
  /** Agent samples after `sent`, placed where they play; zero where the agent was silent. */
  private right: Int16Array = new Int16Array(0);
  private rightLength = 0;
  private closed = false;

  constructor(options: CallAudioTapOptions) {
    this.options = options;
    this.sampleRateHz = options.sampleRateHz;
    this.chunkSamples = Math.max(
      1,
      Math.round(((options.chunkMs ?? DEFAULT_TAP_CHUNK_MS) * options.sampleRateHz) / 1000),
    );
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

  /** Caller audio in arrival order; `pcm16` when the session already decoded it. */
  caller(audio: Uint8Array, pcm16?: Int16Array): void {
    if (this.closed) return;
    const samples =
      pcm16 && !this.callerConverter
        ? pcm16
        : toSamples(audio, this.options.callerFormat, this.callerConverter);
    this.left = ensure(this.left, this.leftLength + samples.length);
    this.left.set(samples, this.leftLength);
    this.leftLength += samples.length;
    this.emitWhole();
  }

  /** Agent audio sent at call time `atMs`: it plays right after what was sent before, or at `atMs`. */
  agent(audio: Uint8Array, atMs: number): void {
    if (this.closed) return;
    const samples = toSamples(audio, this.options.agentFormat, this.agentConverter);
    const wanted = this.samplesAt(atMs) - this.sent;
    const start = Math.max(this.rightLength, wanted, 0);
    this.right = ensure(this.right, start + samples.length);
    this.right.fill(0, this.rightLength, start);
    this.right.set(samples, start);
    this.rightLength = start + samples.length;
  }

  /** Barge-in: agent audio queued past `atMs` was never heard; the listener does not hear it either. */
  truncateAgent(atMs: number): void {
    const keep = this.samplesAt(atMs) - this.sent;
    if (keep >= 0 && keep < this.rightLength) this.rightLength = Math.max(keep, 0);
  }

  /** Sends what the caller's line has covered but no whole chunk yet, then nothing more. */
  close(): void {
    if (this.closed) return;
    this.emitWhole();
    if (this.leftLength > 0) this.emit(this.leftLength);
    this.closed = true;
  }

  private samplesAt(atMs: number): number {
    return Math.round(((atMs - this.options.startAtMs) * this.sampleRateHz) / 1000);
  }

  private emitWhole(): void {
    while (this.leftLength >= this.chunkSamples) this.emit(this.chunkSamples);
  }

  /** Sends the first `count` samples of both legs, the agent's silent where it said nothing. */
  private emit(count: number): void {
    const chunk = new Int16Array(count * 2);
    const agentCount = Math.min(count, this.rightLength);
    for (let i = 0; i < count; i += 1) chunk[2 * i] = this.left[i]!;
    for (let i = 0; i < agentCount; i += 1) chunk[2 * i + 1] = this.right[i]!;
    this.left.copyWithin(0, count, this.leftLength);
    this.leftLength -= count;
    this.right.copyWithin(0, agentCount, this.rightLength);
    this.rightLength -= agentCount;
    this.sent += count;
    this.options.onChunk(chunk);
  }
}

function toSamples(audio: Uint8Array, format: AudioFormat, converter: AudioConverter | null): Int16Array {
  if (converter) return decodeToPcm16(converter.convert(audio), converter.to);
  return decodeToPcm16(audio, format);
}

function ensure(buffer: Int16Array, length: number): Int16Array {
  if (buffer.length >= length) return buffer;
  const grown = new Int16Array(Math.max(length, buffer.length * 2, 1024));
  grown.set(buffer);
  return grown;
}
