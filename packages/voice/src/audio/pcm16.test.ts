import { describe, expect, it } from 'vitest';
import {
  float32ToPcm16,
  pcm16BytesToSamples,
  pcm16Dbfs,
  pcm16Rms,
  pcm16SamplesToBytes,
  pcm16ToFloat32,
} from './pcm16.js';

describe('pcm16', () => {
  it('views aligned little-endian bytes without copying', () => {
    const bytes = Buffer.from([0x01, 0x00, 0xff, 0xff, 0x00, 0x80]);
    const samples = pcm16BytesToSamples(bytes);
    expect(Array.from(samples)).toEqual([1, -1, -32768]);
    if (bytes.byteOffset % 2 === 0) {
      samples[0] = 2;
      expect(bytes[0]).toBe(2);
    }
  });

  it('copies unaligned bytes correctly', () => {
    const backing = new Uint8Array([0, 0x34, 0x12, 0xcc, 0xed]);
    const unaligned = backing.subarray(1);
    const samples = pcm16BytesToSamples(unaligned);
    expect(Array.from(samples)).toEqual([0x1234, -0x1234]);
    samples[0] = 0;
    expect(backing[1]).toBe(0x34);
  });

  it('rejects odd byte lengths', () => {
    expect(() => pcm16BytesToSamples(new Uint8Array(3))).toThrow(RangeError);
  });

  it('round-trips samples to bytes sharing memory', () => {
    const samples = Int16Array.of(0, 1, -1, 32767, -32768);
    const bytes = pcm16SamplesToBytes(samples);
    expect(bytes.buffer).toBe(samples.buffer);
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0, 0, 1, 0]);
    expect(Array.from(pcm16BytesToSamples(bytes))).toEqual(Array.from(samples));
  });

  it('converts to float and back', () => {
    const samples = Int16Array.of(0, 16384, -32768, 32767);
    const floats = pcm16ToFloat32(samples);
    expect(Array.from(floats)).toEqual([0, 0.5, -1, 32767 / 32768]);
    expect(Array.from(float32ToPcm16(floats))).toEqual(Array.from(samples));
    expect(Array.from(float32ToPcm16(Float32Array.of(2, -2)))).toEqual([32767, -32768]);
  });

  it('measures level', () => {
    expect(pcm16Dbfs(new Int16Array(160))).toBe(-Infinity);
    expect(pcm16Rms(new Int16Array(0))).toBe(0);
    const square = new Int16Array(160).map((_, i) => (i % 2 ? 16384 : -16384));
    expect(pcm16Dbfs(square)).toBeCloseTo(-6.02, 2);
    const sine = new Int16Array(8000).map((_, i) =>
      Math.round(32767 * Math.sin((2 * Math.PI * 1000 * i) / 8000)),
    );
    expect(pcm16Dbfs(sine)).toBeCloseTo(-3.01, 1);
  });
});
