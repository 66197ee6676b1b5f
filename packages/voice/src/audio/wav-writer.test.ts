import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WavWriter, memoryWavSink, openWavFile, parseWav, type WavSink } from './wav-writer.js';

/** A sink whose operations finish only when the test says so, recording what ran when. */
function manualSink() {
  const inner = memoryWavSink();
  const log: string[] = [];
  const waiting: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  const later = (label: string, apply: () => void) =>
    new Promise<void>((resolve) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(label);
      waiting.push(() => {
        apply();
        running--;
        resolve();
      });
    });
  const sink: WavSink = {
    write: (bytes) => later(`write ${bytes.byteLength}`, () => inner.write(bytes)),
    writeAt: (position, bytes) => later(`writeAt ${position}`, () => inner.writeAt(position, bytes)),
    close: () => later('close', () => inner.close()),
  };
  return {
    sink,
    log,
    bytes: () => inner.bytes(),
    maxRunning: () => maxRunning,
    /** Completes the oldest pending operation and lets the writer start the next. */
    async step(): Promise<boolean> {
      // Let the writer's promise chain reach its next operation first (a macrotask drains microtasks).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const next = waiting.shift();
      if (!next) return false;
      next();
      return true;
    },
  };
}

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

  it('writes the canonical 44-byte header fields', async () => {
    const sink = memoryWavSink();
    const writer = new WavWriter(sink, { sampleRateHz: 8000, channels: 2 });
    writer.writeSamples(new Int16Array(10));
    await writer.close();
    const bytes = sink.bytes();
    expect(bytes.toString('ascii', 0, 4)).toBe('RIFF');
    expect(bytes.readUInt32LE(4)).toBe(36 + 20);
    expect(bytes.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect(bytes.readUInt32LE(16)).toBe(16);
    expect(bytes.readUInt16LE(20)).toBe(1); // integer PCM
    expect(bytes.readUInt16LE(22)).toBe(2);
    expect(bytes.readUInt32LE(24)).toBe(8000);
    expect(bytes.readUInt32LE(28)).toBe(8000 * 4); // byte rate
    expect(bytes.readUInt16LE(32)).toBe(4); // block align
    expect(bytes.readUInt16LE(34)).toBe(16);
    expect(bytes.toString('ascii', 36, 40)).toBe('data');
    expect(bytes.readUInt32LE(40)).toBe(20);
    expect(bytes.byteLength).toBe(64);
    expect(sink.closed).toBe(true);
  });

  it('is a valid empty file before the first sync', async () => {
    const sink = memoryWavSink();
    const writer = new WavWriter(sink, { sampleRateHz: 16000, channels: 1 });
    writer.writeSamples(new Int16Array(100).fill(7));
    await Promise.resolve();
    // As a crashed process would leave it: the header still says "no samples".
    const wav = parseWav(sink.bytes());
    expect(wav.declaredDataBytes).toBe(0);
    expect(wav.samples).toHaveLength(0);
    await writer.close();
    expect(parseWav(sink.bytes()).samples).toHaveLength(100);
  });

  it('runs one sink operation at a time, in call order, though callers never wait', async () => {
    const io = manualSink();
    const writer = new WavWriter(io.sink, { sampleRateHz: 8000, channels: 1 });
    writer.writeSamples(Int16Array.of(1, 2));
    const synced = writer.sync();
    writer.writeSamples(Int16Array.of(3));
    const closed = writer.close();
    while (await io.step());
    await synced;
    await closed;
    expect(io.maxRunning()).toBe(1);
    expect(io.log).toEqual(['write 44', 'write 4', 'writeAt 0', 'write 2', 'writeAt 0', 'close']);
    expect([...parseWav(io.bytes()).samples]).toEqual([1, 2, 3]);
  });

  it('a sync never claims samples that are not yet on the sink (crash at any moment)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant('sync' as const)), { maxLength: 30 }),
        fc.integer({ min: 0, max: 200 }),
        async (script, crashAfterSteps) => {
          const io = manualSink();
          const writer = new WavWriter(io.sink, { sampleRateHz: 8000, channels: 2 });
          let next = 0;
          const all: number[] = [];
          const syncs: Promise<void>[] = [];
          for (const action of script) {
            if (action === 'sync') {
              syncs.push(writer.sync());
              continue;
            }
            const frame = new Int16Array(action * 2);
            for (let i = 0; i < frame.length; i++) frame[i] = next++;
            all.push(...frame);
            writer.writeSamples(frame);
          }
          for (let i = 0; i < crashAfterSteps && (await io.step()); i++);
          // Whatever has reached the sink so far (once the header has) must parse, and hold exactly
          // what its header claims.
          if (io.bytes().byteLength > 0) {
            const wav = parseWav(io.bytes());
            expect(wav.truncated).toBe(false);
            expect([...wav.samples]).toEqual(all.slice(0, wav.samples.length));
            expect(wav.declaredDataBytes).toBe(wav.samples.length * 2);
          }
          void writer.close();
          while (await io.step());
          await Promise.all(syncs);
          expect([...parseWav(io.bytes()).samples]).toEqual(all);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports a failed write on sync and close, and still closes the sink', async () => {
    let closed = false;
    let writes = 0;
    const sink: WavSink = {
      write: () => {
        if (++writes === 2) throw new Error('disk full');
      },
      writeAt: () => {},
      close: () => {
        closed = true;
      },
    };
    const writer = new WavWriter(sink, { sampleRateHz: 8000, channels: 1 });
    writer.writeSamples(new Int16Array(8));
    void writer.sync(); // dropped on purpose: must not become an unhandled rejection
    writer.writeSamples(new Int16Array(8));
    await expect(writer.sync()).rejects.toThrow('disk full');
    await expect(writer.close()).rejects.toThrow('disk full');
    expect(closed).toBe(true);
    expect(writes).toBe(2); // nothing written after the failure
  });

  it('refuses samples after close', async () => {
    const writer = new WavWriter(memoryWavSink(), { sampleRateHz: 8000, channels: 1 });
    await writer.close();
    await writer.close();
    expect(() => writer.writeSamples(new Int16Array(1))).toThrow(/closed/);
  });

  it('reads a file cut off mid-write as far as it goes', () => {
    const sink = memoryWavSink();
    const writer = new WavWriter(sink, { sampleRateHz: 8000, channels: 1 });
    writer.writeSamples(Int16Array.of(1, 2, 3, 4));
    return writer.sync().then(() => {
      const cut = sink.bytes().subarray(0, 44 + 5);
      const wav = parseWav(cut);
      expect(wav.truncated).toBe(true);
      expect([...wav.samples]).toEqual([1, 2]);
    });
  });
});
