// Little-endian PCM16 helpers. Wire audio is always little-endian; on a little-endian host (every
// platform Node ships for in practice) an aligned buffer is viewed in place rather than copied.
import { endianness } from 'node:os';

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/** Full scale for float conversion: -32768 maps to exactly -1. */
const PCM16_FULL_SCALE = 32768;

/**
 * View little-endian PCM16 bytes as samples. Shares memory when the bytes are 2-byte aligned (so
 * writes to one show in the other); copies when they are not, since Int16Array needs alignment.
 */
export function pcm16BytesToSamples(pcm16Bytes: Uint8Array): Int16Array {
  if (pcm16Bytes.byteLength % 2 !== 0) {
    throw new RangeError(`PCM16 byte length must be even, got ${pcm16Bytes.byteLength}`);
  }
  const sampleCount = pcm16Bytes.byteLength / 2;
  if (HOST_IS_LITTLE_ENDIAN && pcm16Bytes.byteOffset % 2 === 0) {
    return new Int16Array(pcm16Bytes.buffer, pcm16Bytes.byteOffset, sampleCount);
  }
  const samples = new Int16Array(sampleCount);
  const view = new DataView(pcm16Bytes.buffer, pcm16Bytes.byteOffset, pcm16Bytes.byteLength);
  for (let i = 0; i < sampleCount; i++) samples[i] = view.getInt16(i * 2, true);
  return samples;
}

/** Little-endian PCM16 bytes of `samples`, as a Buffer sharing their memory (no copy). */
export function pcm16SamplesToBytes(samples: Int16Array): Buffer {
  if (HOST_IS_LITTLE_ENDIAN) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const bytes = Buffer.alloc(samples.byteLength);
  for (let i = 0; i < samples.length; i++) bytes.writeInt16LE(samples[i]!, i * 2);
  return bytes;
}

/** PCM16 → float in [-1, 1). */
export function pcm16ToFloat32(samples: Int16Array, out?: Float32Array): Float32Array {
  const floats = out ?? new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) floats[i] = samples[i]! / PCM16_FULL_SCALE;
  return floats;
}

/** Float → PCM16, rounded and clipped (out-of-range floats saturate instead of wrapping). */
export function float32ToPcm16(floats: Float32Array | Float64Array, out?: Int16Array): Int16Array {
  const samples = out ?? new Int16Array(floats.length);
  for (let i = 0; i < floats.length; i++) samples[i] = clampPcm16(Math.round(floats[i]! * PCM16_FULL_SCALE));
  return samples;
}

export function clampPcm16(value: number): number {
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}

/** RMS of a PCM16 frame relative to full scale, in [0, 1]. */
export function pcm16Rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sumSquares = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]! / PCM16_FULL_SCALE;
    sumSquares += x * x;
  }
  return Math.sqrt(sumSquares / samples.length);
}

/**
 * Level of a PCM16 frame in dBFS (RMS relative to a full-scale square wave, so a full-scale sine
 * reads about -3 dBFS). Digital silence is -Infinity.
 */
export function pcm16Dbfs(samples: Int16Array): number {
  const rms = pcm16Rms(samples);
  return rms === 0 ? -Infinity : 20 * Math.log10(rms);
}
