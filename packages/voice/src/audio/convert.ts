// Streaming conversion between two audio formats (decode → resample → encode), used only where a
// provider cannot take the carrier's format: telephone μ-law passes through untouched otherwise.
import type { AudioFormat } from './format.js';
import { decodeAlaw, decodeMulaw, encodeAlaw, encodeMulaw } from './g711.js';
import { pcm16BytesToSamples, pcm16SamplesToBytes } from './pcm16.js';
import { StreamingResampler } from './resample.js';

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.sampleRateHz === b.sampleRateHz && a.channels === b.channels;
}

/** Bytes in `encoding` → PCM16 samples. */
export function decodeToPcm16(audio: Uint8Array, format: AudioFormat): Int16Array {
  switch (format.encoding) {
    case 'mulaw':
      return decodeMulaw(audio);
    case 'alaw':
      return decodeAlaw(audio);
    case 'pcm16':
      return pcm16BytesToSamples(audio);
  }
}

/** PCM16 samples → bytes in `format.encoding`. */
export function encodeFromPcm16(samples: Int16Array, format: AudioFormat): Uint8Array {
  switch (format.encoding) {
    case 'mulaw':
      return encodeMulaw(samples);
    case 'alaw':
      return encodeAlaw(samples);
    case 'pcm16':
      return pcm16SamplesToBytes(samples);
  }
}

/** Converts a stream of chunks from one format to another, keeping filter state across chunks. */
export class AudioConverter {
  readonly from: AudioFormat;
  readonly to: AudioFormat;
  private readonly resampler: StreamingResampler | null;
  private readonly passThrough: boolean;

  constructor(from: AudioFormat, to: AudioFormat) {
    this.from = from;
    this.to = to;
    this.passThrough = sameFormat(from, to);
    this.resampler =
      from.sampleRateHz === to.sampleRateHz
        ? null
        : new StreamingResampler(from.sampleRateHz, to.sampleRateHz);
  }

  convert(audio: Uint8Array): Uint8Array {
    if (this.passThrough) return audio;
    const samples = decodeToPcm16(audio, this.from);
    return encodeFromPcm16(this.resampler ? this.resampler.process(samples) : samples, this.to);
  }

  /** The resampler's tail at the end of a stream. */
  flush(): Uint8Array {
    if (!this.resampler) return new Uint8Array(0);
    return encodeFromPcm16(this.resampler.flush(), this.to);
  }
}
