// Incremental PCM16 WAV writing. The header goes out first with placeholder sizes, samples are
// appended as they come, and `sync()` patches the sizes in place, so a process that dies mid-call
// leaves a valid file up to its last sync. Writes are queued: callers never await individual writes.
import { open, type FileHandle } from 'node:fs/promises';
import { pcm16SamplesToBytes } from './pcm16.js';

/** Where WAV bytes go: appends plus positioned rewrites of the header. */
export interface WavSink {
  write(bytes: Uint8Array): Promise<void> | void;
  writeAt(position: number, bytes: Uint8Array): Promise<void> | void;
  close(): Promise<void> | void;
}

export interface WavFormat {
  sampleRateHz: number;
  channels: 1 | 2;
}

const HEADER_BYTES = 44;

function header(format: WavFormat, dataBytes: number): Uint8Array {
  const bytes = Buffer.alloc(HEADER_BYTES);
  const blockAlign = format.channels * 2;
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + dataBytes, 4);
  bytes.write('WAVE', 8, 'ascii');
  bytes.write('fmt ', 12, 'ascii');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20); // PCM
  bytes.writeUInt16LE(format.channels, 22);
  bytes.writeUInt32LE(format.sampleRateHz, 24);
  bytes.writeUInt32LE(format.sampleRateHz * blockAlign, 28);
  bytes.writeUInt16LE(blockAlign, 32);
  bytes.writeUInt16LE(16, 34);
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(dataBytes, 40);
  return bytes;
}

export class WavWriter {
  readonly format: WavFormat;
  private readonly sink: WavSink;
  private dataBytes = 0;
  private pending: Promise<void>;
  private failure: unknown = null;
  private closed = false;

  constructor(sink: WavSink, format: WavFormat) {
    this.sink = sink;
    this.format = format;
    this.pending = Promise.resolve(sink.write(header(format, 0))).catch((error: unknown) => {
      this.failure = error;
    });
  }

  /** Bytes of samples written (or queued) so far. */
  get dataByteLength(): number {
    return this.dataBytes;
  }

  get durationMs(): number {
    return (this.dataBytes / (2 * this.format.channels) / this.format.sampleRateHz) * 1000;
  }

  /** Appends interleaved samples (one per channel per frame). */
  writeSamples(interleaved: Int16Array): void {
    if (this.closed) throw new Error('WAV writer is closed');
    if (interleaved.length % this.format.channels !== 0) {
      throw new RangeError(
        `${interleaved.length} samples do not divide into ${this.format.channels} channels`,
      );
    }
    if (interleaved.length === 0) return;
    // Copy: the caller may reuse its buffer before the queued write runs.
    const bytes = Buffer.from(pcm16SamplesToBytes(interleaved));
    this.dataBytes += bytes.byteLength;
    this.enqueue(() => this.sink.write(bytes));
  }

  /** Appends two equally long channels, interleaving them. */
  writeStereo(left: Int16Array, right: Int16Array): void {
    if (this.format.channels !== 2) throw new Error('writeStereo needs a two-channel writer');
    if (left.length !== right.length) throw new RangeError('left and right must be the same length');
    const interleaved = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      interleaved[2 * i] = left[i]!;
      interleaved[2 * i + 1] = right[i]!;
    }
    this.writeSamples(interleaved);
  }

  /** Patches the header sizes so the file is valid as written so far; resolves when on the sink. */
  sync(): Promise<void> {
    const size = this.dataBytes;
    this.enqueue(() => this.sink.writeAt(0, header(this.format, size)));
    return this.flushed();
  }

  async close(): Promise<void> {
    if (this.closed) return this.flushed();
    this.closed = true;
    const size = this.dataBytes;
    this.enqueue(() => this.sink.writeAt(0, header(this.format, size)));
    this.enqueue(() => this.sink.close());
    return this.flushed();
  }

  private enqueue(write: () => Promise<void> | void): void {
    this.pending = this.pending.then(async () => {
      if (this.failure) return;
      try {
        await write();
      } catch (error) {
        this.failure = error;
      }
    });
  }

  private async flushed(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure;
  }
}

/** A WAV file on disk, created (or truncated) at `path`. */
export async function openWavFile(path: string, format: WavFormat): Promise<WavWriter> {
  const handle: FileHandle = await open(path, 'w', 0o600);
  let position = 0;
  const sink: WavSink = {
    async write(bytes) {
      await handle.write(bytes, 0, bytes.byteLength, position);
      position += bytes.byteLength;
    },
    async writeAt(at, bytes) {
      await handle.write(bytes, 0, bytes.byteLength, at);
    },
    async close() {
      await handle.sync();
      await handle.close();
    },
  };
  return new WavWriter(sink, format);
}

/** Keeps the file in memory (tests). */
export function memoryWavSink(): WavSink & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  let headerPatch: Buffer | null = null;
  return {
    write(bytes) {
      chunks.push(Buffer.from(bytes));
    },
    writeAt(position, bytes) {
      if (position !== 0) throw new Error('memory sink only rewrites the header');
      headerPatch = Buffer.from(bytes);
    },
    close() {},
    bytes() {
      const all = Buffer.concat(chunks);
      if (headerPatch) headerPatch.copy(all, 0);
      return all;
    },
  };
}

export interface ParsedWav {
  sampleRateHz: number;
  channels: number;
  bitsPerSample: number;
  /** Interleaved samples. */
  samples: Int16Array;
  /** The data size the header claims (checks that sizes were patched). */
  declaredDataBytes: number;
}

/** Reads a PCM16 WAV (tests, recordings). */
export function parseWav(bytes: Uint8Array): ParsedWav {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.toString('ascii', 0, 4) !== 'RIFF' || buffer.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let format: { channels: number; sampleRateHz: number; bitsPerSample: number } | null = null;
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('ascii', offset, offset + 4);
    const size = buffer.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = {
        channels: buffer.readUInt16LE(body + 2),
        sampleRateHz: buffer.readUInt32LE(body + 4),
        bitsPerSample: buffer.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!format) throw new Error('data chunk before fmt chunk');
      if (format.bitsPerSample !== 16)
        throw new Error(`expected 16-bit samples, got ${format.bitsPerSample}`);
      const length = Math.min(size, buffer.length - body) & ~1;
      const samples = new Int16Array(length / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = buffer.readInt16LE(body + i * 2);
      return { ...format, samples, declaredDataBytes: size };
    }
    offset = body + size + (size & 1);
  }
  throw new Error('no data chunk');
}
