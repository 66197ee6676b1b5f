// ITU-T G.711 μ-law and A-law, bit-exact with the reference (Sun g711.c) tables.
// Decode is a 256-entry table; encode is a 64K table indexed by the 16-bit sample, built once at
// load (128 KiB in total) so the hot path is one lookup per sample and allocates nothing.

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

function mulawEncodeSample(pcm: number): number {
  let magnitude = pcm;
  const sign = magnitude < 0 ? 0x80 : 0;
  if (sign) magnitude = -magnitude;
  if (magnitude > MULAW_CLIP) magnitude = MULAW_CLIP;
  magnitude += MULAW_BIAS;
  // Segment = position of the highest set bit above bit 7 (magnitude >= 0x84 so it is >= 7).
  const exponent = 31 - Math.clz32(magnitude) - 7;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function mulawDecodeSample(code: number): number {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

function alawEncodeSample(pcm: number): number {
  // A-law works on 13-bit samples.
  let magnitude = pcm >> 3;
  let mask: number;
  if (magnitude >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    magnitude = -magnitude - 1;
  }
  const segment = magnitude < 0x20 ? 0 : 31 - Math.clz32(magnitude) - 4;
  const mantissa = segment < 2 ? (magnitude >> 1) & 0x0f : (magnitude >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

function alawDecodeSample(code: number): number {
  const a = code ^ 0x55;
  let magnitude = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

const MULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let code = 0; code < 256; code++) {
  MULAW_DECODE[code] = mulawDecodeSample(code);
  ALAW_DECODE[code] = alawDecodeSample(code);
}

// Indexed by the sample's 16-bit two's-complement pattern (sample & 0xffff).
const MULAW_ENCODE = new Uint8Array(65536);
const ALAW_ENCODE = new Uint8Array(65536);
for (let pattern = 0; pattern < 65536; pattern++) {
  const pcm = pattern >= 32768 ? pattern - 65536 : pattern;
  MULAW_ENCODE[pattern] = mulawEncodeSample(pcm);
  ALAW_ENCODE[pattern] = alawEncodeSample(pcm);
}

/** G.711 silence codes: what a zero sample encodes to. */
export const MULAW_SILENCE = 0xff;
export const ALAW_SILENCE = 0xd5;

function checkOutput(out: { length: number }, length: number): void {
  if (out.length < length) throw new RangeError(`output holds ${out.length} samples, need ${length}`);
}

/** PCM16 samples → μ-law bytes. Pass `out` to reuse a buffer; the result is `out` trimmed to length. */
export function encodeMulaw(pcm16: Int16Array, out?: Uint8Array): Uint8Array {
  const mulaw = out ?? new Uint8Array(pcm16.length);
  checkOutput(mulaw, pcm16.length);
  for (let i = 0; i < pcm16.length; i++) mulaw[i] = MULAW_ENCODE[pcm16[i]! & 0xffff]!;
  return mulaw.length === pcm16.length ? mulaw : mulaw.subarray(0, pcm16.length);
}

/** μ-law bytes → PCM16 samples. */
export function decodeMulaw(mulaw: Uint8Array, out?: Int16Array): Int16Array {
  const pcm16 = out ?? new Int16Array(mulaw.length);
  checkOutput(pcm16, mulaw.length);
  for (let i = 0; i < mulaw.length; i++) pcm16[i] = MULAW_DECODE[mulaw[i]!]!;
  return pcm16.length === mulaw.length ? pcm16 : pcm16.subarray(0, mulaw.length);
}

/** PCM16 samples → A-law bytes. */
export function encodeAlaw(pcm16: Int16Array, out?: Uint8Array): Uint8Array {
  const alaw = out ?? new Uint8Array(pcm16.length);
  checkOutput(alaw, pcm16.length);
  for (let i = 0; i < pcm16.length; i++) alaw[i] = ALAW_ENCODE[pcm16[i]! & 0xffff]!;
  return alaw.length === pcm16.length ? alaw : alaw.subarray(0, pcm16.length);
}

/** A-law bytes → PCM16 samples. */
export function decodeAlaw(alaw: Uint8Array, out?: Int16Array): Int16Array {
  const pcm16 = out ?? new Int16Array(alaw.length);
  checkOutput(pcm16, alaw.length);
  for (let i = 0; i < alaw.length; i++) pcm16[i] = ALAW_DECODE[alaw[i]!]!;
  return pcm16.length === alaw.length ? pcm16 : pcm16.subarray(0, alaw.length);
}

export function mulawToPcm16Sample(code: number): number {
  return MULAW_DECODE[code & 0xff]!;
}

export function alawToPcm16Sample(code: number): number {
  return ALAW_DECODE[code & 0xff]!;
}
