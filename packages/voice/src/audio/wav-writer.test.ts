import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WavWriter, memoryWavSink, openWavFile, parseWav } from './wav-writer.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('WavWriter', () => {
  it('writes a valid mono PCM16 header and samples', async () => {
    const sink = memoryWavSink();
    const writer = new WavWriter(sink, { sampleRateHz: 8000, channels: 1 });
    writer.writeSamples(Int16Array.from([1, -2, 3]));
    await writer.close();
    const wav = parseWav(sink.bytes());
    expect(wav).toMatchObject({ sampleRateHz: 8000, channels: 1, bitsPerSample: 16, declaredDataBytes: 6 });
    expect([...wav.samples]).toEqual([1, -2, 3]);
    expect(sink.bytes().readUInt32LE(4)).toBe(36 + 6);
  });

  it('interleaves stereo channels', async () => {
    const sink = memoryWavSink();
    const writer = new WavWriter(sink, { sampleRateHz: 16000, channels: 2 });
    writer.writeStereo(Int16Array.from([1, 2]), Int16Array.from([-1, -2]));
    await writer.close();
    expect([...parseWav(sink.bytes()).samples]).toEqual([1, -1, 2, -2]);
  });

  it('leaves a readable file on disk at every sync, before it is closed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'parley-wav-'));
    dirs.push(dir);
    const file = path.join(dir, 'call.wav');
    const writer = await openWavFile(file, { sampleRateHz: 8000, channels: 2 });
    writer.writeStereo(new Int16Array(800).fill(100), new Int16Array(800).fill(-100));
    await writer.sync();
    let wav = parseWav(await readFile(file));
    expect(wav.declaredDataBytes).toBe(800 * 4);
    expect(wav.samples.length).toBe(1600);
    writer.writeStereo(new Int16Array(80), new Int16Array(80));
    await writer.sync();
    wav = parseWav(await readFile(file));
    expect(wav.declaredDataBytes).toBe(880 * 4);
    await writer.close();
    expect(writer.durationMs).toBe(110);
  });

  it('refuses mismatched channels', () => {
    const writer = new WavWriter(memoryWavSink(), { sampleRateHz: 8000, channels: 2 });
    expect(() => writer.writeSamples(Int16Array.from([1, 2, 3]))).toThrow(/channels/);
    expect(() => writer.writeStereo(new Int16Array(2), new Int16Array(3))).toThrow(/same length/);
  });
});
