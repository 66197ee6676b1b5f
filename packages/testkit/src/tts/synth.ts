// Deterministic "speech" for the TTS simulators: a tone with a syllable-rate envelope whose length is
// proportional to the text and whose pitch comes from a hash of it. Tests can compute the exact bytes
// a simulator will send for a piece of text, so order, mixing and format are checked byte for byte.
import { encodeAlaw, encodeMulaw, pcm16SamplesToBytes } from '@parley/voice';
import type { AudioFormat } from '@parley/voice';

/** About 16 characters per second, a normal speaking rate. */
export const DEFAULT_MS_PER_CHARACTER = 60;

/** FNV-1a, so the same text always gets the same pitch. */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The audio a simulator speaks for `text`, in `format`. Only the trimmed text counts (spacing is how
 * clauses are joined, not something spoken); whitespace-only text is silence of zero length.
 */
export function simulatedSpeech(
  text: string,
  format: AudioFormat,
  msPerCharacter = DEFAULT_MS_PER_CHARACTER,
): Uint8Array {
  const spoken = text.trim();
  const sampleCount = Math.round((spoken.length * msPerCharacter * format.sampleRateHz) / 1000);
  const samples = new Int16Array(sampleCount);
  const toneHz = 180 + (hashText(spoken) % 420);
  const syllableHz = 4;
  // Both sines advance by rotating a unit phasor one sample's angle at a time: two multiply-adds per
  // sample instead of two Math.sin calls (load runs synthesise minutes of audio a second).
  const tone = phasor((2 * Math.PI * toneHz) / format.sampleRateHz);
  const syllable = phasor((Math.PI * syllableHz) / format.sampleRateHz);
  for (let i = 0; i < sampleCount; i++) {
    // Never fully silent: a floor under the envelope keeps every chunk audible to an energy check.
    const envelope = 0.35 + 0.65 * Math.abs(syllable.sin);
    samples[i] = Math.round(9000 * envelope * tone.sin);
    tone.step();
    syllable.step();
  }
  if (format.encoding === 'mulaw') return encodeMulaw(samples);
  if (format.encoding === 'alaw') return encodeAlaw(samples);
  return new Uint8Array(pcm16SamplesToBytes(samples));
}

/** sin(n·step) for n = 0, 1, 2, ... by rotation. */
function phasor(step: number): { sin: number; step(): void } {
  const cosStep = Math.cos(step);
  const sinStep = Math.sin(step);
  let cos = 1;
  const state = {
    sin: 0,
    step() {
      const nextCos = cos * cosStep - state.sin * sinStep;
      state.sin = state.sin * cosStep + cos * sinStep;
      cos = nextCos;
    },
  };
  return state;
}
