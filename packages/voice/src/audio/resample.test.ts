import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pcm16Rms } from './pcm16.js';
import { StreamingResampler, resamplePcm16 } from './resample.js';

const RATES = [8000, 16000, 24000, 48000] as const;

function tone(frequencyHz: number, rateHz: number, ms: number, amplitude = 10000): Int16Array {
  const out = new Int16Array(Math.round((rateHz * ms) / 1000));
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / rateHz));
  return out;
}

/** RMS of the middle half (away from the edges, where the filter sees silence). */
function middleRms(samples: Int16Array): number {
  return pcm16Rms(samples.subarray(samples.length / 4, (samples.length * 3) / 4));
}

describe('StreamingResampler', () => {
  for (const from of RATES) {
    for (const to of RATES) {
      if (from === to) continue;
      it(`${from} → ${to}: keeps a 1 kHz tone's level and length`, () => {
        const input = tone(1000, from, 200);
        const output = resamplePcm16(input, from, to);
        expect(output.length).toBe(Math.round((input.length * to) / from));
        const ratioDb = 20 * Math.log10(middleRms(output) / middleRms(input));
        expect(Math.abs(ratioDb)).toBeLessThan(0.5);
        // Same frequency: compare against an ideal tone at the new rate (delay compensated).
        const ideal = tone(1000, to, 200);
        let errorEnergy = 0;
        let signalEnergy = 0;
        for (let i = output.length / 4; i < (output.length * 3) / 4; i++) {
          errorEnergy += (output[i]! - ideal[i]!) ** 2;
          signalEnergy += ideal[i]! ** 2;
        }
        expect(10 * Math.log10(signalEnergy / errorEnergy)).toBeGreaterThan(30);
      });
    }
  }

  it('attenuates what the lower rate cannot carry (no aliasing)', () => {
    const input = tone(6000, 16000, 300);
    const output = resamplePcm16(input, 16000, 8000);
    expect(20 * Math.log10(middleRms(output) / middleRms(input))).toBeLessThan(-50);
  });

  it('gives the same output however the input is chunked', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RATES),
        fc.constantFrom(...RATES),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }),
        (from, to, sizes) => {
          const input = tone(700, from, 150);
          const oneShot = resamplePcm16(input, from, to);
          const resampler = new StreamingResampler(from, to);
          const parts: number[] = [];
          let offset = 0;
          for (const size of sizes) {
            if (offset >= input.length) break;
            parts.push(...resampler.process(input.subarray(offset, offset + size)));
            offset += size;
          }
          parts.push(...resampler.process(input.subarray(offset)));
          parts.push(...resampler.flush());
          expect(parts).toEqual([...oneShot]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('holds back no more than its stated delay', () => {
    const resampler = new StreamingResampler(8000, 16000);
    const out = resampler.process(tone(500, 8000, 100));
    expect(1600 - out.length).toBeLessThanOrEqual(resampler.delaySamples);
    expect(out.length + resampler.flush().length).toBe(1600);
  });

  it('passes audio through untouched at the same rate', () => {
    const input = tone(300, 8000, 20);
    expect(new StreamingResampler(8000, 8000).process(input)).toBe(input);
  });
});

describe('StreamingResampler (stream properties)', () => {
  function noise(length: number, seed: number): Int16Array {
    const out = new Int16Array(length);
    let state = seed >>> 0 || 1;
    for (let i = 0; i < length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      out[i] = ((state >>> 0) % 40001) - 20000;
    }
    return out;
  }

  it('emits round(input × ratio) samples, to within one, over a stream including flush', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RATES),
        fc.constantFrom(...RATES),
        fc.integer({ min: 0, max: 3000 }),
        (from, to, length) => {
          const resampler = new StreamingResampler(from, to);
          const total = resampler.process(noise(length, length + 1)).length + resampler.flush().length;
          expect(Math.abs(total - Math.round((length * to) / from))).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives the same output for noise however it is chunked, including empty chunks', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RATES),
        fc.constantFrom(...RATES),
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 20 }),
        (from, to, sizes) => {
          const input = noise(
            sizes.reduce((a, b) => a + b, 0),
            7,
          );
          const oneShot = resamplePcm16(input, from, to);
          const resampler = new StreamingResampler(from, to);
          const chunks: Int16Array[] = [];
          let offset = 0;
          for (const size of sizes) {
            chunks.push(resampler.process(input.slice(offset, offset + size)));
            offset += size;
          }
          chunks.push(resampler.flush());
          const joined = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const chunk of chunks) {
            joined.set(chunk, at);
            at += chunk.length;
          }
          expect(joined).toEqual(oneShot.length === input.length && from === to ? input : oneShot);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('keeps audio aligned in time: a click comes out where it went in', () => {
    for (const [from, to] of [
      [8000, 48000],
      [48000, 8000],
      [16000, 24000],
      [24000, 16000],
    ] as const) {
      const input = new Int16Array(from / 10); // 100 ms
      const clickAt = input.length / 2;
      input[clickAt] = 30000;
      const output = resamplePcm16(input, from, to);
      let peak = 0;
      for (let i = 1; i < output.length; i++) if (output[i]! > output[peak]!) peak = i;
      expect(Math.abs(peak - (clickAt * to) / from)).toBeLessThanOrEqual(1);
    }
  });

  it('does not mirror a 3 kHz tone when upsampling 8 kHz telephone audio', () => {
    const output = resamplePcm16(tone(3000, 8000, 300), 8000, 16000);
    const ideal = tone(3000, 16000, 300);
    let errorEnergy = 0;
    let signalEnergy = 0;
    for (let i = output.length / 4; i < (output.length * 3) / 4; i++) {
      errorEnergy += (output[i]! - ideal[i]!) ** 2;
      signalEnergy += ideal[i]! ** 2;
    }
    // The 5 kHz image would show up as error energy.
    expect(10 * Math.log10(signalEnergy / errorEnergy)).toBeGreaterThan(40);
  });

  it('rejects a 5 kHz tone going from 48 kHz to 8 kHz', () => {
    const input = tone(5000, 48000, 300, 30000);
    const output = resamplePcm16(input, 48000, 8000);
    expect(20 * Math.log10(middleRms(output) / middleRms(input))).toBeLessThan(-60);
  });

  it('starts a fresh stream after flush', () => {
    const resampler = new StreamingResampler(24000, 8000);
    const input = noise(4800, 3);
    const first = [...resampler.process(input), ...resampler.flush()];
    const second = [...resampler.process(input), ...resampler.flush()];
    expect(second).toEqual(first);
  });

  it('keeps full-scale square waves within PCM16 (clips rather than wraps)', () => {
    const input = new Int16Array(1600);
    for (let i = 0; i < input.length; i++) input[i] = Math.floor(i / 20) % 2 ? -32768 : 32767;
    const output = resamplePcm16(input, 16000, 48000);
    // Overshoot (Gibbs) past full scale saturates; a wrapped sample would flip sign mid-plateau.
    let checked = 0;
    for (let i = 100; i < output.length - 100; i++) {
      const position = (i * 16000) / 48000;
      const intoPlateau = position % 20;
      if (intoPlateau < 3 || intoPlateau > 17) continue; // the edges themselves swing through zero
      const positive = Math.floor(position / 20) % 2 === 0;
      expect(positive ? output[i]! > 20000 : output[i]! < -20000).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(3000);
  });
});
