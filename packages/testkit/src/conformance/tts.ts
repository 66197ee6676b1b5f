// The behaviour every TTS adapter must show, run against its vendor's simulator. The simulators speak
// deterministic audio (simulatedSpeech), so the suite checks format, order and isolation byte for byte.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, ProviderError } from '@parley/voice';
import type { AudioFormat, Clock, TtsChunk, TtsProvider, TtsStream } from '@parley/voice';
import { simulatedSpeech } from '../tts/synth.js';
import type { TtsSimulator, TtsSimulatorOptions } from '../tts/engine.js';

export interface TtsConformanceOverrides {
  apiKey?: string;
  clock?: Clock;
  firstByteTimeoutMs?: number;
}

export interface TtsConformanceSubject<S extends TtsSimulator> {
  startSimulator(options: TtsSimulatorOptions): Promise<S>;
  /** Builds the adapter against `sim.baseUrl` / `sim.apiKey`, applying the overrides. */
  makeProvider(sim: S, overrides: TtsConformanceOverrides): TtsProvider;
  /** Voice id passed to `stream()`. */
  voice?: string;
  /** All utterances of one provider share one connection (Cartesia contexts). */
  sharesConnection?: boolean;
}

const CLAUSES = ['Hello there, ', 'thanks for calling. ', 'How can I help you today?'];
const LONG_TEXT =
  'This answer goes on for quite a while, so that the caller has plenty of time to interrupt it.';
/** Real-time timers only pace the simulators; this bounds how long a cancel may take to arrive. */
const CANCEL_WITHIN_MS = 1000;

const FAST: TtsSimulatorOptions = { firstByteLatencyMs: 0, chunkIntervalMs: 0, chunkDurationMs: 100 };
/** Slow enough that an utterance is still generating when the test interrupts it. */
const SLOW: TtsSimulatorOptions = { firstByteLatencyMs: 0, chunkIntervalMs: 5, chunkDurationMs: 20 };

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function expectedAudio(texts: readonly string[], format: AudioFormat): Uint8Array {
  return concat(texts.map((text) => simulatedSpeech(text, format)));
}

/** Consumes a stream in the background; `firstChunk` resolves with the first audio. */
function consume(stream: TtsStream) {
  const chunks: TtsChunk[] = [];
  let notifyFirst: (() => void) | undefined;
  const firstChunk = new Promise<void>((resolve) => {
    notifyFirst = resolve;
  });
  const done = (async (): Promise<unknown> => {
    try {
      for await (const chunk of stream) {
        chunks.push(chunk);
        notifyFirst?.();
      }
      return undefined;
    } catch (error) {
      return error;
    } finally {
      notifyFirst?.();
    }
  })();
  return {
    chunks,
    firstChunk,
    /** Resolves with the error the iterator threw, or undefined when it ended normally. */
    done,
    audio: () => concat(chunks.map((chunk) => chunk.audio)),
  };
}

/** Byte-for-byte comparison (deep equality on big arrays is slow), reporting where they part. */
export function expectSameAudio(actual: Uint8Array, expected: Uint8Array): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let firstDifference = 0;
  while (firstDifference < Math.min(a.length, b.length) && a[firstDifference] === b[firstDifference])
    firstDifference++;
  expect({ byteLength: a.length, firstDifference }).toEqual({
    byteLength: b.length,
    firstDifference: b.length,
  });
}

function expectProviderError(error: unknown, category: ProviderError['category'], retryable: boolean): void {
  expect(error).toBeInstanceOf(ProviderError);
  expect((error as ProviderError).category).toBe(category);
  expect((error as ProviderError).retryable).toBe(retryable);
}

export function describeTtsConformance<S extends TtsSimulator>(
  name: string,
  subject: TtsConformanceSubject<S>,
): void {
  const voice = subject.voice ?? 'sim-voice';

  describe(`${name} TTS conformance`, () => {
    const sims: TtsSimulator[] = [];
    const start = async (options: TtsSimulatorOptions): Promise<S> => {
      const sim = await subject.startSimulator(options);
      sims.push(sim);
      return sim;
    };
    afterEach(async () => {
      await Promise.all(sims.splice(0).map((sim) => sim.close()));
    });

    const open = (provider: TtsProvider, signal = new AbortController().signal, format?: AudioFormat) =>
      provider.stream({ format: format ?? provider.capabilities.outputFormats[0]!, voice, signal });

    it('speaks text pushed clause by clause as audio in the declared format, in order', async () => {
      const sim = await start(FAST);
      const provider = subject.makeProvider(sim, {});
      const format = provider.capabilities.outputFormats[0]!;
      const stream = open(provider);
      const run = consume(stream);
      for (const clause of CLAUSES) stream.pushText(clause);
      stream.end();

      expect(await run.done).toBeUndefined();
      expect(run.chunks.length).toBeGreaterThan(1);
      for (const chunk of run.chunks) expect(chunk.format).toEqual(format);
      expectSameAudio(run.audio(), expectedAudio(CLAUSES, format));
      expect(sim.utterances.map((utterance) => utterance.text.replace(/\s+/g, ' ').trim()).join(' ')).toBe(
        CLAUSES.join('').trim(),
      );
    });

    it('produces each declared output format', async () => {
      const sim = await start(FAST);
      const provider = subject.makeProvider(sim, {});
      for (const format of provider.capabilities.outputFormats) {
        const stream = open(provider, undefined, format);
        const run = consume(stream);
        stream.pushText('Testing one two.');
        stream.end();
        expect(await run.done).toBeUndefined();
        for (const chunk of run.chunks) expect(chunk.format).toEqual(format);
        expectSameAudio(run.audio(), simulatedSpeech('Testing one two.', format));
      }
    });

    it('ends without audio when the utterance had no text', async () => {
      const sim = await start(FAST);
      const stream = open(subject.makeProvider(sim, {}));
      const run = consume(stream);
      stream.end();
      expect(await run.done).toBeUndefined();
      expect(run.chunks).toEqual([]);
    });

    it('ends quietly on abort mid-utterance and the vendor sees the cancel at once', async () => {
      const sim = await start(SLOW);
      const controller = new AbortController();
      const stream = open(subject.makeProvider(sim, {}), controller.signal);
      const run = consume(stream);
      stream.pushText(LONG_TEXT);
      await run.firstChunk;
      const abortedAtMs = performance.now();
      controller.abort();

      expect(await run.done).toBeUndefined();
      const cancelled = await sim.waitFor(() => sim.utterances.find((u) => u.cancelledAtMs !== undefined));
      expect(cancelled.cancelledAtMs! - abortedAtMs).toBeLessThan(CANCEL_WITHIN_MS);
      // Generation stopped: the vendor did not send the whole utterance.
      expect(cancelled.audioBytesSent).toBeLessThan(simulatedSpeech(LONG_TEXT, cancelled.format!).byteLength);
    });

    it('ends quietly on abort before the first audio', async () => {
      const sim = await start(FAST);
      sim.failNext('stall');
      const controller = new AbortController();
      const stream = open(subject.makeProvider(sim, {}), controller.signal);
      const run = consume(stream);
      stream.pushText('Hello there.');
      await sim.waitFor(() => sim.utterances.find((u) => u.text.includes('Hello')));
      controller.abort();

      expect(await run.done).toBeUndefined();
      expect(run.chunks).toEqual([]);
      await sim.waitFor(() => sim.utterances.find((u) => u.cancelledAtMs !== undefined));
    });

    it('cancels upstream when the consumer stops iterating', async () => {
      const sim = await start(SLOW);
      const stream = open(subject.makeProvider(sim, {}));
      stream.pushText(LONG_TEXT);
      for await (const chunk of stream) {
        expect(chunk.audio.byteLength).toBeGreaterThan(0);
        break;
      }
      await sim.waitFor(() => sim.utterances.find((u) => u.cancelledAtMs !== undefined));
    });

    it('keeps concurrent utterances on one provider apart', async () => {
      const sim = await start(FAST);
      const provider = subject.makeProvider(sim, {});
      const format = provider.capabilities.outputFormats[0]!;
      const first = open(provider);
      const second = open(provider);
      const firstRun = consume(first);
      const secondRun = consume(second);
      const firstTexts = ['One apple, ', 'two apples.'];
      const secondTexts = ['Some oranges ', 'and a pear.'];
      first.pushText(firstTexts[0]!);
      second.pushText(secondTexts[0]!);
      first.pushText(firstTexts[1]!);
      second.pushText(secondTexts[1]!);
      second.end();
      first.end();

      expect(await firstRun.done).toBeUndefined();
      expect(await secondRun.done).toBeUndefined();
      expectSameAudio(firstRun.audio(), expectedAudio(firstTexts, format));
      expectSameAudio(secondRun.audio(), expectedAudio(secondTexts, format));
      if (subject.sharesConnection) expect(sim.connectionCount).toBe(1);
    });

    it('reports a refused key as a non-retryable auth error', async () => {
      const sim = await start(FAST);
      const stream = open(subject.makeProvider(sim, { apiKey: 'wrong-key' }));
      const run = consume(stream);
      stream.pushText('Hello there.');
      stream.end();
      expectProviderError(await run.done, 'auth', false);
      expect(run.chunks).toEqual([]);
    });

    it("reports the vendor's error as a retryable server error", async () => {
      const sim = await start(FAST);
      sim.failNext('error');
      const stream = open(subject.makeProvider(sim, {}));
      const run = consume(stream);
      stream.pushText('Hello there.');
      stream.end();
      expectProviderError(await run.done, 'server', true);
    });

    it('reports a dropped connection as a retryable network error, and recovers', async () => {
      const sim = await start(FAST);
      const provider = subject.makeProvider(sim, {});
      sim.failNext('drop');
      const stream = open(provider);
      const run = consume(stream);
      stream.pushText(LONG_TEXT);
      stream.end();
      expectProviderError(await run.done, 'network', true);

      const again = open(provider);
      const retry = consume(again);
      again.pushText('Hello again.');
      again.end();
      expect(await retry.done).toBeUndefined();
      expectSameAudio(
        retry.audio(),
        simulatedSpeech('Hello again.', provider.capabilities.outputFormats[0]!),
      );
    });

    it('times out when no audio arrives within the first-byte deadline, and cancels upstream', async () => {
      const sim = await start(FAST);
      sim.failNext('stall');
      const clock = new ManualClock();
      const stream = open(subject.makeProvider(sim, { clock, firstByteTimeoutMs: 5000 }));
      const run = consume(stream);
      let settled = false;
      void run.done.then(() => {
        settled = true;
      });
      stream.pushText('Hello there.');
      stream.end();
      await sim.waitFor(() => sim.utterances.find((u) => u.text.includes('Hello')));

      await clock.advance(4999);
      expect(settled).toBe(false);
      await clock.advance(1);
      expectProviderError(await run.done, 'timeout', true);
      await sim.waitFor(() => sim.utterances.find((u) => u.cancelledAtMs !== undefined));
    });
  });
}
