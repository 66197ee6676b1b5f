/** Wire encodings the voice core handles; telephony audio stays G.711 end to end where possible. */
export type AudioEncoding = 'pcm16' | 'mulaw' | 'alaw';

/** The only rates providers and carriers use; all ratios among them are small rationals. */
export type SampleRateHz = 8000 | 16000 | 24000 | 48000;

export const SAMPLE_RATES_HZ: readonly SampleRateHz[] = [8000, 16000, 24000, 48000];

/** Every audio buffer in the core travels with one of these, so its encoding is never guessed. */
export interface AudioFormat {
  encoding: AudioEncoding;
  sampleRateHz: SampleRateHz;
  channels: 1;
}

export const MULAW_8K: AudioFormat = { encoding: 'mulaw', sampleRateHz: 8000, channels: 1 };
export const ALAW_8K: AudioFormat = { encoding: 'alaw', sampleRateHz: 8000, channels: 1 };
export const PCM16_16K: AudioFormat = { encoding: 'pcm16', sampleRateHz: 16000, channels: 1 };

export function bytesPerSample(encoding: AudioEncoding): number {
  return encoding === 'pcm16' ? 2 : 1;
}

/** Bytes per sample frame (all channels). */
export function bytesPerFrame(format: AudioFormat): number {
  return bytesPerSample(format.encoding) * format.channels;
}

/** Playback duration of `byteLength` bytes; a trailing partial sample is ignored. */
export function durationMs(byteLength: number, format: AudioFormat): number {
  const samples = Math.floor(byteLength / bytesPerFrame(format));
  return (samples * 1000) / format.sampleRateHz;
}

/** Bytes holding `durationMs` of audio, rounded to whole samples so frames never split a sample. */
export function bytesForDurationMs(durationMs: number, format: AudioFormat): number {
  return Math.round((durationMs * format.sampleRateHz) / 1000) * bytesPerFrame(format);
}

/** Samples (per channel) in `durationMs` at `sampleRateHz`, rounded to a whole sample. */
export function samplesForDurationMs(durationMs: number, sampleRateHz: number): number {
  return Math.round((durationMs * sampleRateHz) / 1000);
}

export function isSampleRateHz(value: number): value is SampleRateHz {
  return (SAMPLE_RATES_HZ as readonly number[]).includes(value);
}

/** A short label such as `mulaw/8000` for events and logs. */
export function formatLabel(format: AudioFormat): string {
  return `${format.encoding}/${format.sampleRateHz}`;
}
