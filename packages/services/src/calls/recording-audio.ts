// A call recording as bytes to serve: the stereo WAV file as it is on disk (caller left, agent right),
// or a mono downmix made on the fly, a valid WAV of its own whose any byte range can be produced
// without building the whole file. Recordings are PCM16; a file still being written may declare
// stale sizes, so the audio is what the file holds, in whole frames.
import { open, type FileHandle } from 'node:fs/promises';

const HEADER_BYTES = 44;
/** Frames read from disk per step when mixing: bounded memory whatever the recording's length. */
const FRAMES_PER_READ = 16_384;

export interface RecordingBytes {
  sizeBytes: number;
  /** Bytes `start` to `end`, both inclusive (0 ≤ start ≤ end < sizeBytes). */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
}

interface WavLayout {
  channels: number;
  sampleRateHz: number;
  bitsPerSample: number;
  dataOffset: number;
  fileBytes: number;
}

/** Finds the format and where the samples start; throws on a file that is not PCM16 WAV. */
async function readLayout(file: FileHandle): Promise<WavLayout> {
  const { size } = await file.stat();
  const head = Buffer.alloc(Math.min(size, 4096));
  await file.read(head, 0, head.length, 0);
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error('not a RIFF/WAVE file');
  let fmt: Omit<WavLayout, 'dataOffset' | 'fileBytes'> | null = null;
  for (let offset = 12; offset + 8 <= head.length;) {
    const id = head.toString('ascii', offset, offset + 4);
    const chunkBytes = head.readUInt32LE(offset + 4);
    if (id === 'fmt ' && offset + 24 <= head.length) {
      fmt = {
        channels: head.readUInt16LE(offset + 10),
        sampleRateHz: head.readUInt32LE(offset + 12),
        bitsPerSample: head.readUInt16LE(offset + 22),
      };
    } else if (id === 'data') {
      if (!fmt || fmt.bitsPerSample !== 16) throw new Error('not a PCM16 WAV file');
      return { ...fmt, dataOffset: offset + 8, fileBytes: size };
    }
    offset += 8 + chunkBytes + (chunkBytes & 1);
  }
  throw new Error('no data chunk');
}

function monoHeader(sampleRateHz: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(HEADER_BYTES - 8 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRateHz, 24);
  h.writeUInt32LE(sampleRateHz * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

async function* fileRange(path: string, start: number, end: number): AsyncIterable<Uint8Array> {
  const file = await open(path, 'r');
  try {
    for (let at = start; at <= end;) {
      const buffer = Buffer.alloc(Math.min(64 * 1024, end - at + 1));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
      at += bytesRead;
    }
  } finally {
    await file.close();
  }
}

/** Mono samples `first`..`last` (frame indexes, inclusive), each the average of left and right. */
async function* mixedFrames(
  path: string,
  layout: WavLayout,
  first: number,
  last: number,
): AsyncIterable<Buffer> {
  const file = await open(path, 'r');
  try {
    for (let frame = first; frame <= last; frame += FRAMES_PER_READ) {
      const frames = Math.min(FRAMES_PER_READ, last - frame + 1);
      const stereo = Buffer.alloc(frames * 4);
      await file.read(stereo, 0, stereo.length, layout.dataOffset + frame * 4);
      const mono = Buffer.alloc(frames * 2);
      for (let i = 0; i < frames; i++) {
        // Floor of the mean: never clips, and the same rounding whatever the signs.
        mono.writeInt16LE((stereo.readInt16LE(i * 4) + stereo.readInt16LE(i * 4 + 2)) >> 1, i * 2);
      }
      yield mono;
    }
  } finally {
    await file.close();
  }
}

function stereoBytes(path: string, layout: WavLayout): RecordingBytes {
  return { sizeBytes: layout.fileBytes, read: (start, end) => fileRange(path, start, end) };
}

function mixedBytes(path: string, layout: WavLayout): RecordingBytes {
  const frames = Math.floor((layout.fileBytes - layout.dataOffset) / 4);
  const header = monoHeader(layout.sampleRateHz, frames * 2);
  return {
    sizeBytes: HEADER_BYTES + frames * 2,
    async *read(start, end) {
      if (start < HEADER_BYTES) yield header.subarray(start, Math.min(end, HEADER_BYTES - 1) + 1);
      if (end < HEADER_BYTES) return;
      // Byte offsets into the mixed samples; a range may start or end inside a 2-byte sample.
      const from = Math.max(start, HEADER_BYTES) - HEADER_BYTES;
      const to = end - HEADER_BYTES;
      const firstFrame = Math.floor(from / 2);
      let skip = from - firstFrame * 2;
      let left = to - from + 1;
      for await (const chunk of mixedFrames(path, layout, firstFrame, Math.floor(to / 2))) {
        const part = chunk.subarray(skip, skip + left);
        skip = 0;
        left -= part.length;
        yield part;
      }
    },
  };
}

/** The recording's bytes as asked; `mixed` of a recording that is already mono is the file itself. */
export async function recordingBytes(path: string, channels: 'stereo' | 'mixed'): Promise<RecordingBytes> {
  const file = await open(path, 'r');
  let layout: WavLayout;
  try {
    layout = await readLayout(file);
  } finally {
    await file.close();
  }
  return channels === 'mixed' && layout.channels === 2 ? mixedBytes(path, layout) : stereoBytes(path, layout);
}
