import { describe, expect, it } from 'vitest';
import {
  bytesForDurationMs,
  bytesPerSample,
  durationMs,
  isSampleRateHz,
  MULAW_8K,
  PCM16_16K,
  samplesForDurationMs,
} from './format.js';

describe('audio format', () => {
  it('knows bytes per sample', () => {
    expect(bytesPerSample('pcm16')).toBe(2);
    expect(bytesPerSample('mulaw')).toBe(1);
    expect(bytesPerSample('alaw')).toBe(1);
  });

  it('computes durations', () => {
    expect(durationMs(160, MULAW_8K)).toBe(20);
    expect(durationMs(640, PCM16_16K)).toBe(20);
    // A trailing odd byte is not a sample.
    expect(durationMs(641, PCM16_16K)).toBe(20);
    expect(durationMs(0, MULAW_8K)).toBe(0);
  });

  it('computes bytes for a duration', () => {
    expect(bytesForDurationMs(20, MULAW_8K)).toBe(160);
    expect(bytesForDurationMs(20, PCM16_16K)).toBe(640);
    expect(bytesForDurationMs(20, { encoding: 'pcm16', sampleRateHz: 24000, channels: 1 })).toBe(960);
    expect(samplesForDurationMs(10, 48000)).toBe(480);
  });

  it('recognizes supported rates', () => {
    expect(isSampleRateHz(8000)).toBe(true);
    expect(isSampleRateHz(44100)).toBe(false);
  });
});
