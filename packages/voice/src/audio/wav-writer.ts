// Incremental PCM16 WAV writing for call recordings. The header goes out first with the sizes of an
// empty file, samples are appended as they come, and `sync()` patches the sizes in place, so a process
// that dies mid-call leaves a valid file up to its last sync. Only queued writes are held in memory.
// Callers do not await individual writes: every sink operation runs from one queue, in order.
import { open } from 'node:fs/promises';
import { pcm16SamplesToBytes } from './pcm16.js';

/** Where WAV bytes go: appends, plus positioned rewrites of the header. */
export interface WavSink {
  write(bytes: Uint8Array): Promise<void> | void;
  writeAt(position: number, bytes: Uint8Array): Promise<void> | void;
  close(): Promise<void> | void;
}

export interface WavFormat {
  sampleRateHz: number;
  /** Stereo is interleaved left, right (in call recordings: caller left, agent right). */
  channels: 1 | 2;
}

export const WAV_HEADER_BYTES = 44;
const BYTES_PER_SAMPLE = 2;
/** RIFF sizes are 32-bit; past this the header saturates (≈ 37 h of 8 kHz stereo) rather than wraps. */
const MAX_DATA_BYTES = 0xffffffff - (WAV_HEADER_BYTES - 8);

/** The 44-byte canonical header of a PCM16 WAV holding `dataBytes` of samples. */
export function wavHeader(format: WavFormat, dataBytes: number): Uint8Array {
  const size = Math.min(dataBytes, MAX_DATA_BYTES);
  const bytes = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  const blockAlign = format.channels * BYTES_PER_SAMPLE;
  writeAscii(bytes, 0, 'RIFF');
  view.setUint32(4, WAV_HEADER_BYTES - 8 + size, true);
  writeAscii(bytes, 8, 'WAVE');
  writeAscii(bytes, 12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, format.channels, true);
  view.setUint32(24, format.sampleRateHz, true);
  view.setUint32(28, format.sampleRateHz * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, BYTES_PER_SAMPLE * 8, true);
  writeAscii(bytes, 36, 'data');
  view.setUint32(40, size, true);
  return bytes;
}

function writeAscii(bytes: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
}

export class WavWriter {
  readonly format: WavFormat;
  private readonly sink: WavSink;
  /** Sample bytes accepted so far (queued or written). */
  private dataBytes = 0;
  /** Tail of the write queue; never rejects (failures are kept in `failure`). */
  private tail: Promise<void>;
  private failure: { error: unknown } | null = null;
  private closing: Promise<void> | null = null;

  constructor(sink: WavSink, format: WavFormat) {
    if (format.channels !== 1 && format.channels !== 2)
      throw new RangeError(`unsupported channels ${format.channels}`);
    if (!Number.isInteger(format.sampleRateHz) || format.sampleRateHz <= 0) {
      throw new RangeError(`invalid sample rate ${format.sampleRateHz}`);
    }
    this.sink = sink;
    this.format = format;
    this.tail = Promise.resolve();
    this.enqueue(() => sink.write(wavHeader(format, 0)));
  }

  /** Sample bytes accepted so far. */
  get dataByteLength(): number {
    return this.dataBytes;
  }

  /** Duration of the samples accepted so far. */
  get durationMs(): number {
    return (this.dataBytes / (BYTES_PER_SAMPLE * this.format.channels) / this.format.sampleRateHz) * 1000;
  }

  /** Appends PCM16 samples, interleaved when stereo. They are copied: the caller may reuse the array. */
  writeSamples(interleaved: Int16Array): void {
    if (this.closing) throw new Error('WavWriter is closed');
    if (interleaved.length % this.format.channels !== 0) {
      throw new RangeError(
        `${interleaved.length} samples do not divide into ${this.format.channels} channels`,
      );
    }
    this.append(interleaved.slice());
  }

  /** Appends two equally long channels, interleaving them (stereo writers only). */
  writeStereo(left: Int16Array, right: Int16Array): void {
    if (this.format.channels !== 2) throw new Error('writeStereo needs a two-channel WavWriter');
    if (left.length !== right.length) {
      throw new RangeError(`left and right must be the same length (${left.length} ≠ ${right.length})`);
    }
    const interleaved = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      interleaved[2 * i] = left[i]!;
      interleaved[2 * i + 1] = right[i]!;
    }
    if (this.closing) throw new Error('WavWriter is closed');
    this.append(interleaved);
  }

  /**
   * Patches the header to cover everything written so far; resolves once that is on the sink. Rejects
   * if any write failed. The returned promise may be ignored (a failure is reported again by close()).
   */
  sync(): Promise<void> {
    if (this.closing) return this.closing;
    this.enqueuePatch();
    return this.settled();
  }

  /** Patches the header and closes the sink; later calls return the same promise. */
  close(): Promise<void> {
    if (!this.closing) {
      this.enqueuePatch();
      // The sink is closed even after a failed write, so the file handle is never leaked.
      this.tail = this.tail.then(() => this.run(() => this.sink.close()));
      this.closing = this.settled();
    }
    return this.closing;
  }

  /** Queues samples this writer owns (nobody else will modify them). */
  private append(owned: Int16Array): void {
    if (owned.length === 0) return;
    const bytes = pcm16SamplesToBytes(owned);
    this.dataBytes += bytes.byteLength;
    this.enqueue(() => this.sink.write(bytes));
  }

  private enqueuePatch(): void {
    // The size is taken now, not when the patch runs: writes queued after it are not on the sink yet,
    // and the header must never claim bytes a crash could lose.
    const header = wavHeader(this.format, this.dataBytes);
    this.enqueue(() => this.sink.writeAt(0, header));
  }

  private enqueue(operation: () => Promise<void> | void): void {
    this.tail = this.tail.then(() => (this.failure ? undefined : this.run(operation)));
  }

  private async run(operation: () => Promise<void> | void): Promise<void> {
    try {
      await operation();
    } catch (error) {
      this.failure ??= { error };
    }
  }

  private settled(): Promise<void> {
    const done = this.tail.then(() => {
      if (this.failure) throw this.failure.error;
    });
    // Marks the promise handled so a caller that drops it (`void writer.sync()`) cannot crash the
    // process with an unhandled rejection; a caller that awaits it still sees the error.
    done.catch(() => {});
    return done;
  }
}

/** A WAV file at `path`, created or truncated (mode 0600: recordings are personal data). */
export async function openWavFile(path: string, format: WavFormat): Promise<WavWriter> {
  const handle = await open(path, 'w', 0o600);
  let position = 0;
  const sink: WavSink = {
    async write(bytes) {
      // Positioned writes: the header patch never moves the append position.
      let written = 0;
      while (written < bytes.byteLength) {
        const result = await handle.write(bytes, written, bytes.byteLength - written, position + written);
        written += result.bytesWritten;
      }
      position += bytes.byteLength;
    },
    async writeAt(at, bytes) {
      let written = 0;
      while (written < bytes.byteLength) {
        const result = await handle.write(bytes, written, bytes.byteLength - written, at + written);
        written += result.bytesWritten;
      }
    },
    async close() {
      await handle.close();
    },
  };
  return new WavWriter(sink, format);
}

export interface MemoryWavSink extends WavSink {
  /** A copy of the file as written so far. */
  bytes(): Buffer;
  readonly closed: boolean;
}

/** Keeps the file in memory (tests). */
export function memoryWavSink(): MemoryWavSink {
  let buffer = new Uint8Array(1024);
  let length = 0;
  let closed = false;
  const ensure = (needed: number): void => {
    if (needed <= buffer.length) return;
    const grown = new Uint8Array(Math.max(needed, buffer.length * 2));
    grown.set(buffer.subarray(0, length));
    buffer = grown;
  };
  return {
    write(bytes) {
      if (closed) throw new Error('sink is closed');
      ensure(length + bytes.byteLength);
      buffer.set(bytes, length);
      length += bytes.byteLength;
    },
    writeAt(position, bytes) {
      if (closed) throw new Error('sink is closed');
      ensure(position + bytes.byteLength);
      buffer.set(bytes, position);
      length = Math.max(length, position + bytes.byteLength);
    },
    close() {
      closed = true;
    },
    bytes: () => Buffer.from(buffer.subarray(0, length)),
    get closed() {
      return closed;
    },
  };
}

export interface ParsedWav {
  /** WAVE format tag: 1 is integer PCM. */
  formatTag: number;
  channels: number;
  sampleRateHz: number;
  bitsPerSample: number;
  /** PCM16 samples, interleaved when stereo. */
  samples: Int16Array;
  /** The data size the header declares (0 in a file whose sizes were never patched). */
  declaredDataBytes: number;
  /** The file holds fewer sample bytes than its header declares. */
  truncated: boolean;
}

/** Reads a PCM16 WAV (tests and tools). Throws on anything else. */
export function parseWav(bytes: Uint8Array): ParsedWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (offset: number): string => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || ascii(0) !== 'RIFF' || ascii(8) !== 'WAVE')
    throw new Error('not a RIFF/WAVE file');
  let fmt: { formatTag: number; channels: number; sampleRateHz: number; bitsPerSample: number } | null = null;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength) {
    const id = ascii(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.byteLength) throw new Error('fmt chunk is too short');
      fmt = {
        formatTag: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRateHz: view.getUint32(body + 4, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('data chunk before fmt chunk');
      if (fmt.formatTag !== 1 || fmt.bitsPerSample !== 16) {
        throw new Error(`not PCM16 (format ${fmt.formatTag}, ${fmt.bitsPerSample} bits)`);
      }
      const available = bytes.byteLength - body;
      const usable = Math.min(size, available) & ~1;
      const samples = new Int16Array(usable / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(body + i * 2, true);
      return { ...fmt, samples, declaredDataBytes: size, truncated: available < size };
    }
    offset = body + size + (size & 1);
  }
  throw new Error('no data chunk');
}
