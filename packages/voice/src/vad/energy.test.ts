import { loadFixture } from '@parley/testkit';
import { describe, expect, it } from 'vitest';
import { VadSpeechDetector } from './detector.js';
import { EnergyVad } from './energy.js';

function voicedShare(probabilities: number[]): number {
  return probabilities.filter((p) => p >= 0.5).length / probabilities.length;
}

describe('EnergyVad', () => {
  it('scores speech high and silence zero, in 32 ms windows', () => {
    const vad = new EnergyVad({ sampleRateHz: 8000 });
    const silence = vad.push(loadFixture('silence-2s').samples);
    const speech = vad.push(loadFixture('opening-hours').samples);
    expect(silence).toHaveLength(62);
    expect(Math.max(...silence.map((w) => w.probability))).toBe(0);
    expect(voicedShare(speech.map((w) => w.probability))).toBeGreaterThan(0.7);
    expect(speech[0]!.endSampleOffset).toBe(63 * 256);
  });

  it('learns the line noise as floor, then still hears speech over it', () => {
    const vad = new EnergyVad({ sampleRateHz: 8000 });
    const noise = vad.push(loadFixture('line-noise-3s').samples);
    expect(voicedShare(noise.map((w) => w.probability))).toBe(0);
    expect(vad.noiseFloor).toBeGreaterThan(-60);
    const speech = vad.push(loadFixture('greeting-request').samples);
    const starts = new VadSpeechDetector().pushAll(speech).filter((e) => e.type === 'speech_start');
    expect(starts.length).toBeGreaterThanOrEqual(1);
  });

  it('gives the same windows whatever the frame size', () => {
    const samples = loadFixture('order-complaint').samples;
    const whole = new EnergyVad({ sampleRateHz: 8000 }).push(samples);
    const framed = new EnergyVad({ sampleRateHz: 8000 });
    const pieces = [];
    for (let offset = 0; offset < samples.length; offset += 160)
      pieces.push(...framed.push(samples.subarray(offset, offset + 160)));
    expect(pieces).toEqual(whole);
  });
});
