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
