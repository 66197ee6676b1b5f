import { describe, expect, it } from 'vitest';
import { constant, lognormalFromPercentiles, seededRandom, uniform } from './distributions.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

describe('distributions', () => {
  it('a seed replays the same sequence, another seed does not', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });

  it('constant and uniform stay where they are told', () => {
    expect(constant(7).sample()).toBe(7);
    const dist = uniform(10, 20, seededRandom(1));
    for (let i = 0; i < 1000; i++) {
      const x = dist.sample();
      expect(x >= 10 && x < 20).toBe(true);
    }
    expect(() => uniform(5, 1, seededRandom(1))).toThrow(RangeError);
  });

  it('a log-normal fitted to p50 250 / p99 600 reproduces those percentiles', () => {
    const dist = lognormalFromPercentiles(250, 600, seededRandom(7));
    const samples = Array.from({ length: 40_000 }, () => dist.sample()).sort((x, y) => x - y);
    expect(percentile(samples, 0.5)).toBeGreaterThan(240);
    expect(percentile(samples, 0.5)).toBeLessThan(260);
    expect(percentile(samples, 0.99)).toBeGreaterThan(560);
    expect(percentile(samples, 0.99)).toBeLessThan(640);
    expect(samples[0]!).toBeGreaterThan(0);
  });

  it('rejects percentiles that describe no distribution', () => {
    expect(() => lognormalFromPercentiles(0, 10, seededRandom(1))).toThrow(RangeError);
    expect(() => lognormalFromPercentiles(100, 50, seededRandom(1))).toThrow(RangeError);
  });
});
