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
  for (let i = 0; i < sampleCount; i++) {
    const t = i / format.sampleRateHz;
    // Never fully silent: a floor under the envelope keeps every chunk audible to an energy check.
    const envelope = 0.35 + 0.65 * Math.abs(Math.sin(Math.PI * syllableHz * t));
    samples[i] = Math.round(9000 * envelope * Math.sin(2 * Math.PI * toneHz * t));
  }
  if (format.encoding === 'mulaw') return encodeMulaw(samples);
  if (format.encoding === 'alaw') return encodeAlaw(samples);
  return new Uint8Array(pcm16SamplesToBytes(samples));
}
