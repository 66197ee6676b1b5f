// Audio fixtures: short recordings made by scripts/make-fixtures.sh (flite speech, shaped noise), all
// 8 kHz mono PCM16 WAV. `transcript` is what was said, for simulated STT; null for non-speech.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = {
  'greeting-request': 'Hello, I would like to book an appointment for tomorrow morning.',
  'opening-hours': 'What time do you open on Saturday?',
  'order-complaint':
    'I am calling about my order. It was supposed to arrive last week, but I still have not received anything.',
  'thank-you': 'Thank you, that is all I needed.',
  'interrupt-wait': 'Wait, stop, I have a question.',
  'backchannel-yeah': 'yeah',
  'backchannel-okay': 'okay',
  'backchannel-mm-hm': 'mm-hm',
  'backchannel-right': 'right',
  'silence-2s': null,
  'line-noise-3s': null,
  cough: null,
  clicks: null,
  'tone-1khz': null,
} as const satisfies Record<string, string | null>;

export type FixtureName = keyof typeof FIXTURES;

export interface AudioFixture {
  name: FixtureName;
  transcript: string | null;
  sampleRateHz: 8000;
  /** PCM16 samples, mono. */
  samples: Int16Array;
  durationMs: number;
}

const cache = new Map<FixtureName, AudioFixture>();

export function fixturePath(name: FixtureName): string {
  return fileURLToPath(new URL(`../fixtures/${name}.wav`, import.meta.url));
}

/** Loads a fixture (cached; treat the samples as read-only). */
export function loadFixture(name: FixtureName): AudioFixture {
  const cached = cache.get(name);
  if (cached) return cached;
  const { sampleRateHz, samples } = parsePcm16Wav(readFileSync(fixturePath(name)));
  if (sampleRateHz !== 8000) throw new Error(`fixture ${name} is ${sampleRateHz} Hz, expected 8000`);
  const fixture: AudioFixture = {
    name,
    transcript: FIXTURES[name],
    sampleRateHz: 8000,
    samples,
    durationMs: (samples.length * 1000) / sampleRateHz,
  };
  cache.set(name, fixture);
  return fixture;
}

/** Reads a mono PCM16 WAV (RIFF, `fmt ` then `data`, other chunks skipped). */
export function parsePcm16Wav(bytes: Buffer): { sampleRateHz: number; samples: Int16Array } {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let sampleRateHz = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const formatTag = bytes.readUInt16LE(body);
      const channels = bytes.readUInt16LE(body + 2);
      const bitsPerSample = bytes.readUInt16LE(body + 14);
      if ((formatTag !== 1 && formatTag !== 0xfffe) || channels !== 1 || bitsPerSample !== 16) {
        throw new Error(`expected mono PCM16, got format ${formatTag}, ${channels} ch, ${bitsPerSample} bit`);
      }
      sampleRateHz = bytes.readUInt32LE(body + 4);
    } else if (id === 'data') {
      if (!sampleRateHz) throw new Error('data chunk before fmt chunk');
      const length = Math.min(size, bytes.length - body) & ~1;
      const samples = new Int16Array(length / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(body + i * 2);
      return { sampleRateHz, samples };
    }
    offset = body + size + (size & 1);
  }
  throw new Error('no data chunk');
}
