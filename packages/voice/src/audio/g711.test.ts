import { describe, expect, it } from 'vitest';
import {
  ALAW_SILENCE,
  alawToPcm16Sample,
  decodeAlaw,
  decodeMulaw,
  encodeAlaw,
  encodeMulaw,
  MULAW_SILENCE,
  mulawToPcm16Sample,
} from './g711.js';

function allSamples(): Int16Array {
  const pcm = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) pcm[i] = i - 32768;
  return pcm;
}

const codecs = [
  { name: 'mulaw', encode: encodeMulaw, decode: decodeMulaw },
  { name: 'alaw', encode: encodeAlaw, decode: decodeAlaw },
] as const;

describe('G.711', () => {
  it('decodes known μ-law code points', () => {
    expect(mulawToPcm16Sample(0xff)).toBe(0);
    expect(mulawToPcm16Sample(0x7f)).toBe(0);
    expect(mulawToPcm16Sample(0x00)).toBe(-32124);
    expect(mulawToPcm16Sample(0x80)).toBe(32124);
    expect(Array.from(encodeMulaw(Int16Array.of(0, -32124, 32124, 32767, -32768)))).toEqual([
      0xff, 0x00, 0x80, 0x80, 0x00,
    ]);
  });

  it('decodes known A-law code points', () => {
    expect(alawToPcm16Sample(0xd5)).toBe(8);
    expect(alawToPcm16Sample(0x55)).toBe(-8);
    expect(alawToPcm16Sample(0xaa)).toBe(32256);
    expect(alawToPcm16Sample(0x2a)).toBe(-32256);
    expect(Array.from(encodeAlaw(Int16Array.of(8, -8, 32767, -32768)))).toEqual([0xd5, 0x55, 0xaa, 0x2a]);
  });

  it('encodes silence to the silence code', () => {
    expect(Array.from(encodeMulaw(new Int16Array(4)))).toEqual([MULAW_SILENCE, 0xff, 0xff, 0xff]);
    expect(Array.from(encodeAlaw(new Int16Array(4)))).toEqual([ALAW_SILENCE, 0xd5, 0xd5, 0xd5]);
  });

  for (const codec of codecs) {
    it(`${codec.name}: round-trip error is bounded over the whole 16-bit range`, () => {
      const pcm = allSamples();
      const decoded = codec.decode(codec.encode(pcm));
      let worst = 0;
      const outOfBound: number[] = [];
      for (let i = 0; i < pcm.length; i++) {
        const x = pcm[i]!;
        const error = Math.abs(decoded[i]! - x);
        // Logarithmic companding: error within half a step, ~1/32 of the magnitude, plus the
        // first segment's step and μ-law's clipping at ±32635.
        if (error > Math.abs(x) / 32 + 16) outOfBound.push(x);
        worst = Math.max(worst, error);
      }
      expect(outOfBound).toEqual([]);
      expect(worst).toBeLessThan(1100);
    });

    it(`${codec.name}: decoded values re-encode to the same code (idempotent)`, () => {
      const codes = new Uint8Array(256).map((_, i) => i);
      const decoded = codec.decode(codes);
      const again = codec.decode(codec.encode(decoded));
      expect(Array.from(again)).toEqual(Array.from(decoded));
    });

    it(`${codec.name}: decoding is monotonic in the input`, () => {
      const decoded = codec.decode(codec.encode(allSamples()));
      let decreases = 0;
      for (let i = 1; i < decoded.length; i++) if (decoded[i]! < decoded[i - 1]!) decreases++;
      expect(decreases).toBe(0);
    });
  }

  it('writes into a caller buffer without allocating', () => {
    const out = new Uint8Array(8);
    const encoded = encodeMulaw(Int16Array.of(0, 0), out);
    expect(encoded.buffer).toBe(out.buffer);
    expect(encoded.length).toBe(2);
    expect(() => encodeMulaw(new Int16Array(9), out)).toThrow(RangeError);
  });
});
