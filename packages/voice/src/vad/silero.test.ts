import { loadFixture, type FixtureName } from '@parley/testkit';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { pcm16Dbfs } from '../audio/pcm16.js';
import { resamplePcm16 } from '../audio/resample.js';
import { VadSpeechDetector, type VadSpeechStartEvent } from './detector.js';
import {
  SILERO_STATE_SIZE,
  SileroVadModel,
  buildSileroInput,
  type SileroBatch,
  type SileroBatchOutput,
  type SileroInference,
  type SileroSampleRate,
  type VadWindowResult,
} from './silero.js';

let model: SileroVadModel;

beforeAll(async () => {
  model = await SileroVadModel.load();
});

const SPEECH: FixtureName[] = ['greeting-request', 'opening-hours', 'order-complaint', 'backchannel-yeah'];
const NOT_SPEECH: FixtureName[] = ['silence-2s', 'line-noise-3s', 'tone-1khz', 'clicks', 'cough'];

function fixtureAt(name: FixtureName, sampleRateHz: SileroSampleRate): Int16Array {
  const { samples } = loadFixture(name);
  return sampleRateHz === 8000 ? samples : resamplePcm16(samples, 8000, sampleRateHz);
}

/** Feeds audio in 20 ms frames, as carriers deliver it, waiting for each push. */
async function analyse(samples: Int16Array, sampleRateHz: SileroSampleRate): Promise<VadWindowResult[]> {
  const stream = model.createStream({ sampleRateHz });
  const frameSamples = sampleRateHz / 50;
  const windows: VadWindowResult[] = [];
  for (let offset = 0; offset < samples.length; offset += frameSamples) {
    windows.push(...(await stream.push(samples.subarray(offset, offset + frameSamples))));
  }
  stream.close();
  return windows;
}

function speechStarts(windows: VadWindowResult[]): VadSpeechStartEvent[] {
  const detector = new VadSpeechDetector();
  return detector.pushAll(windows).filter((event) => event.type === 'speech_start');
}

/** Onset by level: the end of the first 10 ms slice louder than -35 dBFS (every fixture's speech is). */
function loudOnsetMs(name: FixtureName): number {
  const { samples } = loadFixture(name);
  for (let offset = 0; offset + 80 <= samples.length; offset += 80) {
    if (pcm16Dbfs(samples.subarray(offset, offset + 80)) > -35) return (offset + 80) / 8;
  }
  throw new Error(`${name} has no loud slice`);
}

/** Share of the windows louder than -30 dBFS (clearly within a word) that read as speech. */
function voicedShareOfLoudWindows(name: FixtureName, windows: VadWindowResult[]): number {
  const { samples } = loadFixture(name);
  let loud = 0;
  let voiced = 0;
  for (const window of windows) {
    const end = Math.round((window.endMs * 8000) / 1000);
    if (pcm16Dbfs(samples.subarray(end - 256, end)) <= -30) continue;
    loud++;
    if (window.probability >= 0.5) voiced++;
  }
  return voiced / loud;
}

describe('Silero VAD on recorded audio', () => {
  for (const sampleRateHz of [8000, 16000] as const) {
    it(`hears speech from its onset at ${sampleRateHz} Hz`, async () => {
      for (const name of SPEECH) {
        const windows = await analyse(fixtureAt(name, sampleRateHz), sampleRateHz);
        expect(voicedShareOfLoudWindows(name, windows), name).toBeGreaterThan(0.9);
        const starts = speechStarts(windows);
        expect(starts.length, name).toBeGreaterThanOrEqual(1);
        // The first segment starts with the first word: within two windows of it, and not before.
        const onsetMs = loudOnsetMs(name);
        expect(starts[0]!.atMs, name).toBeGreaterThan(onsetMs - 64);
        expect(starts[0]!.atMs, name).toBeLessThan(onsetMs + 64);
      }
    });
  }

  it('reads one unbroken question as a single segment', async () => {
    const windows = await analyse(loadFixture('opening-hours').samples, 8000);
    expect(speechStarts(windows)).toHaveLength(1);
  });

  it('starts no speech on silence, line noise, a tone, clicks or a cough', async () => {
    for (const name of NOT_SPEECH) {
      const windows = await analyse(loadFixture(name).samples, 8000);
      expect(windows.length, name).toBeGreaterThan(10);
      expect(speechStarts(windows), name).toEqual([]);
    }
  });

  it('times windows by the audio: 32 ms each, counted from the stream start', async () => {
    const windows = await analyse(loadFixture('opening-hours').samples.subarray(0, 8000), 8000);
    expect(windows.map((w) => w.endSampleOffset)).toEqual(
      Array.from({ length: 31 }, (_, i) => (i + 1) * 256),
    );
    expect(windows[0]!.endMs).toBe(32);
  });
});

describe('Silero VAD streams', () => {
  it('runs windows pushed by 20 calls in the same tick as one batch, with the results each gets alone', async () => {
    const speech = loadFixture('order-complaint').samples;
    // Each call hears a different stretch, so a mixed-up state or context would show.
    const audio = Array.from({ length: 20 }, (_, call) =>
      speech.subarray(call * 1000, call * 1000 + 256 * 12),
    );
    const alone: number[][] = [];
    for (const samples of audio) alone.push((await analyse(samples, 8000)).map((w) => w.probability));

    const streams = audio.map(() => model.createStream({ sampleRateHz: 8000 }));
    const together: number[][] = audio.map(() => []);
    for (let offset = 0; offset < 256 * 12; offset += 256) {
      const batchesBefore = model.stats.batches;
      const windowsBefore = model.stats.windows;
      const results = await Promise.all(
        streams.map((s, call) => s.push(audio[call]!.subarray(offset, offset + 256))),
      );
      expect(model.stats.batches - batchesBefore).toBe(1);
      expect(model.stats.windows - windowsBefore).toBe(20);
      results.forEach((windows, call) => together[call]!.push(...windows.map((w) => w.probability)));
    }
    for (let call = 0; call < 20; call++) {
      expect(together[call]!).toHaveLength(12);
      together[call]!.forEach((p, i) => expect(Math.abs(p - alone[call]![i]!)).toBeLessThan(1e-4));
    }
    expect(model.stats.largestBatch).toBeGreaterThanOrEqual(20);
  });

  it('keeps results in push order when pushes overlap, whatever the frame size', async () => {
    const samples = loadFixture('greeting-request').samples.subarray(0, 8000);
    const expected = await analyse(samples, 8000);
    const stream = model.createStream({ sampleRateHz: 8000 });
    const settled: number[] = [];
    const pushes: Promise<VadWindowResult[]>[] = [];
    // Odd frame sizes (including empty and larger-than-a-window) without waiting for any of them.
    const frameSizes = [100, 0, 37, 600, 160, 1, 513];
    for (let offset = 0, i = 0; offset < samples.length; i++) {
      const size = frameSizes[i % frameSizes.length]!;
      const index = pushes.length;
      const push = stream.push(samples.subarray(offset, offset + size));
      void push.then(() => settled.push(index));
      pushes.push(push);
      offset += size;
    }
    const results = (await Promise.all(pushes)).flat();
    expect(settled).toEqual(pushes.map((_, i) => i));
    expect(results.map((w) => w.endSampleOffset)).toEqual(expected.map((w) => w.endSampleOffset));
    results.forEach((w, i) => expect(Math.abs(w.probability - expected[i]!.probability)).toBeLessThan(1e-6));
  });

  it('feed() hands each push its results in push order, without a promise per frame', async () => {
    const samples = loadFixture('greeting-request').samples.subarray(0, 8000);
    const expected = await analyse(samples, 8000);
    const stream = model.createStream({ sampleRateHz: 8000 });
    const delivered: { push: number; windows: VadWindowResult[] }[] = [];
    const failures: unknown[] = [];
    let pushes = 0;
    for (let offset = 0; offset < samples.length; offset += 160) {
      const push = pushes++;
      stream.feed(
        samples.subarray(offset, offset + 160),
        (windows) => delivered.push({ push, windows }),
        (error) => failures.push(error),
      );
    }
    await vi.waitFor(() => expect(delivered).toHaveLength(pushes));
    expect(delivered.map((d) => d.push)).toEqual([...Array(pushes).keys()]);
    const results = delivered.flatMap((d) => d.windows);
    expect(results.map((w) => w.endSampleOffset)).toEqual(expected.map((w) => w.endSampleOffset));
    results.forEach((w, i) => expect(Math.abs(w.probability - expected[i]!.probability)).toBeLessThan(1e-6));
    expect(failures).toEqual([]);
    stream.close();
    stream.feed(
      new Int16Array(256),
      () => {},
      (error) => failures.push(error),
    );
    expect(failures).toEqual([expect.objectContaining({ message: expect.stringMatching(/closed/) })]);
  });

  it('starts afresh after reset(), with offsets still counted from the stream start', async () => {
    const speech = loadFixture('opening-hours').samples.subarray(0, 256 * 10);
    const fresh = await analyse(speech, 8000);
    const stream = model.createStream({ sampleRateHz: 8000 });
    await stream.push(loadFixture('greeting-request').samples.subarray(0, 256 * 20 + 100));
    stream.reset();
    const after = await stream.push(speech);
    expect(after[0]!.endSampleOffset).toBe(256 * 20 + 100 + 256);
    after.forEach((w, i) => expect(Math.abs(w.probability - fresh[i]!.probability)).toBeLessThan(1e-6));
  });

  it('after close(), pending pushes settle and new pushes are refused', async () => {
    const stream = model.createStream({ sampleRateHz: 8000 });
    const pending = stream.push(loadFixture('opening-hours').samples.subarray(0, 256 * 8));
    stream.close();
    const windows = await pending;
    expect(windows.length).toBeLessThan(8);
    await expect(stream.push(new Int16Array(256))).rejects.toThrow(/closed/);
  });

  it('fails to load a model file that is not a model, naming the problem', async () => {
    await expect(SileroVadModel.load(fileURLToPath(import.meta.url))).rejects.toThrow(/protobuf|model|load/i);
  });

  it('refuses pushes once the model is disposed', async () => {
    const own = await SileroVadModel.load();
    const stream = own.createStream(8000);
    await own.dispose();
    await expect(stream.push(new Int16Array(256))).rejects.toThrow(/disposed/);
  });

  it('rejects sample rates the model does not take', () => {
    expect(() => model.createStream({ sampleRateHz: 24000 as SileroSampleRate })).toThrow(RangeError);
  });
});

/** Records what the model would be fed; answers with the batch row index as probability. */
class RecordingInference implements SileroInference {
  readonly batches: SileroBatch[] = [];
  failNext = false;

  async run(batch: SileroBatch): Promise<SileroBatchOutput> {
    this.batches.push({ ...batch, input: batch.input.slice(), state: batch.state.slice() });
    if (this.failNext) {
      this.failNext = false;
      throw new Error('inference failed');
    }
    const state = new Float32Array(batch.state.length);
    // Each call's next state: its old state plus one, so gather/scatter mistakes show.
    for (let i = 0; i < state.length; i++) state[i] = batch.state[i]! + 1;
    return { probabilities: Float32Array.from({ length: batch.batchSize }, (_, b) => b / 100), state };
  }

  async dispose(): Promise<void> {}
}

describe('Silero window input', () => {
  it('prepends the previous window’s last context samples (zeros at the start)', () => {
    const context = Float32Array.from({ length: 32 }, (_, i) => i / 100);
    const input = buildSileroInput(context, new Int16Array(256).fill(16384));
    expect(input).toHaveLength(288);
    expect([...input.subarray(0, 32)]).toEqual([...context]);
    expect([...new Set(input.subarray(32))]).toEqual([0.5]);
  });

  it('feeds each window with the last 32 samples of the one before at 8 kHz (64 at 16 kHz)', async () => {
    for (const [sampleRateHz, windowSamples, contextSamples] of [
      [8000, 256, 32],
      [16000, 512, 64],
    ] as const) {
      const inference = new RecordingInference();
      const stream = new SileroVadModel(inference).createStream({ sampleRateHz });
      const audio = Int16Array.from({ length: windowSamples * 2 }, (_, i) => i * 10);
      await stream.push(audio);
      const [first, second] = inference.batches;
      expect(first!.input).toHaveLength(contextSamples + windowSamples);
      expect([...first!.input.subarray(0, contextSamples)]).toEqual(new Array(contextSamples).fill(0));
      expect(first!.input[contextSamples]).toBe(0);
      const tail = audio.subarray(windowSamples - contextSamples, windowSamples + 1);
      expect([...second!.input.subarray(0, contextSamples + 1)]).toEqual([...tail].map((s) => s / 32768));
    }
  });

  it('gathers each call’s own state into the batch and scatters it back', async () => {
    const inference = new RecordingInference();
    const batched = new SileroVadModel(inference);
    const a = batched.createStream({ sampleRateHz: 8000 });
    const b = batched.createStream({ sampleRateHz: 8000 });
    await Promise.all([a.push(new Int16Array(256 * 2)), b.push(new Int16Array(256))]);
    // Batch 1: both calls at state 0; batch 2: only `a`, whose state went up by one.
    expect(inference.batches.map((x) => x.batchSize)).toEqual([2, 1]);
    expect(new Set(inference.batches[0]!.state)).toEqual(new Set([0]));
    expect(new Set(inference.batches[1]!.state)).toEqual(new Set([1]));
    expect(a.state).toEqual(new Float32Array(SILERO_STATE_SIZE).fill(2));
    expect(b.state).toEqual(new Float32Array(SILERO_STATE_SIZE).fill(1));
  });

  it('caps a batch at maxBatchWindows and runs the rest next', async () => {
    const inference = new RecordingInference();
    const capped = new SileroVadModel(inference, { maxBatchWindows: 8 });
    const streams = Array.from({ length: 20 }, () => capped.createStream({ sampleRateHz: 8000 }));
    await Promise.all(streams.map((s) => s.push(new Int16Array(256))));
    expect(inference.batches.map((x) => x.batchSize)).toEqual([8, 8, 4]);
  });

  it('skips windows a stalled model has left waiting too long, keeping memory bounded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = new RecordingInference();
    const stalled: SileroInference = {
      run: async (batch) => {
        await gate;
        return inner.run(batch);
      },
      dispose: async () => {},
    };
    let nowMs = 0;
    const model = new SileroVadModel(stalled, { maxQueueWaitMs: 1000, now: () => nowMs });
    const stream = model.createStream({ sampleRateHz: 8000 });
    // A window every 32 ms for 3 s of audio while the model is stalled: the first is in flight, and
    // those queued more than a second before the newest are skipped as the newer ones arrive.
    const pushes: Promise<unknown[]>[] = [];
    for (let i = 0; i < 94; i++, nowMs += 32) pushes.push(stream.push(new Int16Array(256)));
    expect(model.stats.windowsShed).toBeGreaterThan(55);
    release();
    const results = await Promise.all(pushes);
    const analysed = results.flat() as { endSampleOffset: number }[];
    expect(analysed).toHaveLength(94 - model.stats.windowsShed);
    // Skipped pushes resolve empty; what ran is the first window and the newest second, in order.
    expect(analysed.at(-1)!.endSampleOffset).toBe(94 * 256);
    expect(analysed.every((w, i) => i === 0 || w.endSampleOffset > analysed[i - 1]!.endSampleOffset)).toBe(
      true,
    );
  });

  it('keeps a reset when the window that carried it is skipped', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = new RecordingInference();
    const stalled: SileroInference = {
      run: async (batch) => {
        await gate;
        return inner.run(batch);
      },
      dispose: async () => {},
    };
    let nowMs = 0;
    const model = new SileroVadModel(stalled, { maxQueueWaitMs: 1000, now: () => nowMs });
    const stream = model.createStream({ sampleRateHz: 8000 });
    const first = stream.push(new Int16Array(256)); // in flight while the model is stalled
    stream.reset();
    const carriedReset = stream.push(new Int16Array(256));
    nowMs += 1500;
    const after = stream.push(new Int16Array(256)); // the window before it waited too long: skipped
    expect(model.stats.windowsShed).toBe(1);
    release();
    await Promise.all([first, carriedReset, after]);
    // The first window left state 1s behind; the reset still zeroes it for the window that ran next.
    expect(inner.batches).toHaveLength(2);
    expect([...new Set(inner.batches[1]!.state)]).toEqual([0]);
  });

  it('fails the push whose window failed, and the next push still runs', async () => {
    const inference = new RecordingInference();
    const stream = new SileroVadModel(inference).createStream({ sampleRateHz: 8000 });
    inference.failNext = true;
    const failed = stream.push(new Int16Array(256));
    const next = stream.push(new Int16Array(256));
    await expect(failed).rejects.toThrow('inference failed');
    expect(await next).toEqual([{ probability: 0, endSampleOffset: 512, endMs: 64 }]);
  });
});
