import { loadFixture, type FixtureName } from '@parley/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { resamplePcm16 } from '../audio/resample.js';
import { EnergyVad } from './energy.js';
import { SileroVadModel, buildSileroInput, type SileroSampleRate } from './silero.js';

let model: SileroVadModel;

beforeAll(async () => {
  model = await SileroVadModel.load();
});

async function probabilities(name: FixtureName, rate: SileroSampleRate = 8000): Promise<number[]> {
  const fixture = loadFixture(name);
  const samples = rate === 8000 ? fixture.samples : resamplePcm16(fixture.samples, 8000, rate);
  const stream = model.createStream(rate);
  const frame = rate / 50; // 20 ms, as carriers deliver it
  const out: number[] = [];
  for (let offset = 0; offset < samples.length; offset += frame) {
    for (const window of await stream.push(samples.subarray(offset, offset + frame)))
      out.push(window.probability);
  }
  return out;
}

const share = (values: number[], predicate: (v: number) => boolean) =>
  values.filter(predicate).length / values.length;

describe('Silero VAD', () => {
  it('finds speech in recorded speech at 8 kHz', async () => {
    for (const name of ['greeting-request', 'opening-hours', 'order-complaint'] as const) {
      const p = await probabilities(name);
      // The recordings are mostly speech with short pauses between words.
      expect(
        share(p, (v) => v >= 0.5),
        name,
      ).toBeGreaterThan(0.5);
    }
  });

  it('works at 16 kHz too', async () => {
    const p = await probabilities('opening-hours', 16000);
    expect(share(p, (v) => v >= 0.5)).toBeGreaterThan(0.5);
  });

  it('hears no speech in silence, line noise, a tone or clicks', async () => {
    for (const name of ['silence-2s', 'line-noise-3s', 'tone-1khz', 'clicks'] as const) {
      const p = await probabilities(name);
      expect(Math.max(...p), name).toBeLessThan(0.5);
    }
  });

  it('batches windows submitted by many calls in one tick, with the same results as alone', async () => {
    const speech = loadFixture('opening-hours').samples.subarray(0, 8000);
    const alone = model.createStream(8000);
    const expected: number[] = [];
    for (let offset = 0; offset < speech.length; offset += 256) {
      for (const w of await alone.push(speech.subarray(offset, offset + 256))) expected.push(w.probability);
    }
    const streams = Array.from({ length: 20 }, () => model.createStream(8000));
    const results: number[][] = streams.map(() => []);
    const before = model.stats.batches;
    for (let offset = 0; offset < speech.length; offset += 256) {
      const windows = await Promise.all(
        streams.map((stream) => stream.push(speech.subarray(offset, offset + 256))),
      );
      windows.forEach((list, i) => results[i]!.push(...list.map((w) => w.probability)));
    }
    const batches = model.stats.batches - before;
    expect(batches).toBe(expected.length); // one run per window position for all 20 calls
    for (const result of results) {
      result.forEach((p, i) => expect(Math.abs(p - expected[i]!)).toBeLessThan(1e-4));
    }
  });

  it('prepends the previous window’s last context samples', () => {
    const context = Float32Array.from({ length: 32 }, (_, i) => i / 100);
    const input = buildSileroInput(context, new Int16Array(256).fill(16384));
    expect(input.length).toBe(288);
    expect([...input.subarray(0, 32)]).toEqual([...context]);
    expect(input[32]).toBe(0.5);
  });
});

describe('EnergyVad', () => {
  it('tells speech from silence', () => {
    const vad = new EnergyVad({ sampleRateHz: 8000 });
    const silence = vad.push(loadFixture('silence-2s').samples);
    const speech = vad.push(loadFixture('opening-hours').samples);
    expect(Math.max(...silence.map((w) => w.probability))).toBeLessThan(0.5);
    expect(
      share(
        speech.map((w) => w.probability),
        (v) => v >= 0.5,
      ),
    ).toBeGreaterThan(0.4);
  });
});
