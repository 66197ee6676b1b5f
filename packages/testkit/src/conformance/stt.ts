// The behaviour every live STT adapter must show, run against the Deepgram-style simulator with real
// recorded speech. An adapter's test calls describeSttConformance with a factory pointing at `sim.url`.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MULAW_8K, MULAW_SILENCE, ProviderError, encodeMulaw } from '@parley/voice';
import type { SttEvent, SttProvider, SttStream } from '@parley/voice';
import { loadFixture } from '../fixtures.js';
import { startSttSimulator } from '../stt-simulator.js';
import type { SttSimulator } from '../stt-simulator.js';

export interface SttConformanceHints {
  /** The suite's simulator closes idle sockets after `sim.idleTimeoutMs`; keep alive at this interval. */
  keepAliveIntervalMs: number;
}

export type SttProviderFactory = (sim: SttSimulator, hints: SttConformanceHints) => SttProvider;

const IDLE_TIMEOUT_MS = 300;
const KEEP_ALIVE_INTERVAL_MS = 100;
const CHUNK_BYTES = 160; // 20 ms of 8 kHz μ-law, as a carrier sends it

/** The opening-hours recording as μ-law, followed by enough silence for endpointing and UtteranceEnd. */
function utteranceAudio(trailingSilenceMs = 1300): Uint8Array {
  const speech = encodeMulaw(loadFixture('opening-hours').samples);
  const audio = new Uint8Array(speech.length + (trailingSilenceMs * MULAW_8K.sampleRateHz) / 1000);
  audio.set(speech);
  audio.fill(MULAW_SILENCE, speech.length);
  return audio;
}

function sendInChunks(stream: SttStream, audio: Uint8Array): void {
  for (let offset = 0; offset < audio.length; offset += CHUNK_BYTES) {
    stream.sendAudio(audio.subarray(offset, offset + CHUNK_BYTES));
  }
}

/** Collects events in the background; `until` resolves when a matching event has arrived. */
function collect(stream: SttStream) {
  const events: SttEvent[] = [];
  const waiters: { predicate: (event: SttEvent) => boolean; resolve: (event: SttEvent) => void }[] = [];
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const event of stream) {
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      }
    } catch (error) {
      failure = error;
    }
  })();
  return {
    events,
    done,
    get failure() {
      return failure;
    },
    until<T extends SttEvent>(predicate: (event: SttEvent) => event is T): Promise<T> {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<T>((resolve) =>
          waiters.push({ predicate, resolve: resolve as (event: SttEvent) => void }),
        ),
        done.then(() => {
          throw new Error(`stream ended before the awaited event (${String(failure ?? 'no error')})`);
        }),
      ]);
    },
  };
}

const isFinal = (event: SttEvent): event is Extract<SttEvent, { type: 'final' }> => event.type === 'final';
const isUtteranceEnd = (event: SttEvent): event is Extract<SttEvent, { type: 'utterance_end' }> =>
  event.type === 'utterance_end';

export function describeSttConformance(name: string, makeProvider: SttProviderFactory): void {
  describe(`${name} STT conformance`, () => {
    let sim: SttSimulator;
    let provider: SttProvider;
    const controllers: AbortController[] = [];
    const hints: SttConformanceHints = { keepAliveIntervalMs: KEEP_ALIVE_INTERVAL_MS };

    beforeAll(async () => {
      sim = await startSttSimulator({
        apiKey: 'stt-conformance-key',
        idleTimeoutMs: IDLE_TIMEOUT_MS,
        finalLatencyMs: 0,
      });
      provider = makeProvider(sim, hints);
    });
    afterEach(() => {
      for (const controller of controllers.splice(0)) controller.abort();
      sim.setApiKey('stt-conformance-key');
    });
    afterAll(async () => {
      await sim.close();
    });

    async function open(): Promise<{ stream: SttStream; controller: AbortController }> {
      const controller = new AbortController();
      controllers.push(controller);
      const stream = await provider.stream({
        format: MULAW_8K,
        language: 'en-US',
        signal: controller.signal,
      });
      return { stream, controller };
    }

    it('accepts telephony μ-law 8 kHz', () => {
      expect(
        provider.capabilities.inputFormats.some((f) => f.encoding === 'mulaw' && f.sampleRateHz === 8000),
      ).toBe(true);
    });

    it('streams real speech into interims, then a speech-final final with what was said', async () => {
      sim.queueUtterance('what time do you open on saturday');
      const { stream } = await open();
      const seen = collect(stream);
      sendInChunks(stream, utteranceAudio());
      const final = await seen.until(isFinal);
      expect(final.text).toBe('what time do you open on saturday');
      expect(final.speechFinal).toBe(true);
      expect(final.fromFinalize).toBe(false);
      if (final.startMs !== undefined && final.endMs !== undefined)
        expect(final.endMs).toBeGreaterThan(final.startMs);
      const before = seen.events.slice(0, seen.events.indexOf(final));
      expect(before.some((event) => event.type === 'speech_started')).toBe(true);
      const interims = before.filter((event) => event.type === 'interim');
      expect(interims.length).toBeGreaterThan(0);
      expect(interims.every((event) => event.text.length > 0)).toBe(true);
      await stream.close();
      await seen.done;
      expect(seen.failure).toBeUndefined();
    });

    it('signals utterance end after the final, from the word gap', async () => {
      sim.queueUtterance('what time do you open on saturday');
      const { stream } = await open();
      const seen = collect(stream);
      sendInChunks(stream, utteranceAudio());
      const end = await seen.until(isUtteranceEnd);
      const final = seen.events.find(isFinal);
      expect(final).toBeDefined();
      expect(seen.events.indexOf(end)).toBeGreaterThan(seen.events.indexOf(final!));
      if (end.lastWordEndMs !== undefined && final?.endMs !== undefined) {
        expect(end.lastWordEndMs).toBeLessThanOrEqual(final.endMs);
      }
      await stream.close();
    });

    it('finalize() flushes speech still in progress as a fromFinalize final', async () => {
      sim.queueUtterance('what time do you open');
      const { stream } = await open();
      const seen = collect(stream);
      const audio = utteranceAudio(0);
      sendInChunks(stream, audio.subarray(0, audio.length / 2)); // stop mid-sentence: no endpoint yet
      stream.finalize();
      const final = await seen.until(isFinal);
      expect(final.fromFinalize).toBe(true);
      expect(final.text).toBe('what time do you open');
      await stream.close();
    });

    it('keeps an idle stream open past the idle timeout', async () => {
      const { stream } = await open();
      const seen = collect(stream);
      const session = sim.sessions.at(-1)!;
      const keepAlivesToOutlast = Math.ceil(IDLE_TIMEOUT_MS / KEEP_ALIVE_INTERVAL_MS) + 1;
      await sim.waitFor(
        () =>
          !session.open ||
          session.messagesReceived.filter((message) => message.type === 'KeepAlive').length >=
            keepAlivesToOutlast,
      );
      expect(session.open).toBe(true);
      expect(session.closeCode).toBeUndefined();
      expect(sim.sessions.length).toBeGreaterThan(0);
      await stream.close();
      await seen.done;
      expect(seen.failure).toBeUndefined();
    });

    it('rejects bad credentials with an auth error', async () => {
      sim.setApiKey('a-different-key');
      const failure = await open().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ProviderError);
      expect((failure as ProviderError).category).toBe('auth');
      expect((failure as ProviderError).retryable).toBe(false);
    });

    it('reconnects after a dropped connection and keeps transcribing', async () => {
      sim.queueUtterance('what time do you open');
      sim.queueUtterance('on saturday please');
      const { stream } = await open();
      const seen = collect(stream);
      const firstSessions = sim.sessions.length;
      sendInChunks(stream, utteranceAudio());
      const first = await seen.until(isFinal);
      expect(first.text).toBe('what time do you open');
      sim.dropConnections();
      sendInChunks(stream, utteranceAudio()); // sent while the socket is down: buffered, not lost
      const second = await seen.until(
        (event): event is Extract<SttEvent, { type: 'final' }> => isFinal(event) && event !== first,
      );
      expect(second.text).toBe('on saturday please');
      expect(sim.sessions.length).toBe(firstSessions + 1);
      if (first.endMs !== undefined && second.startMs !== undefined) {
        expect(second.startMs).toBeGreaterThan(first.endMs); // times keep counting across the reconnect
      }
      expect(seen.failure).toBeUndefined();
      await stream.close();
    });

    it('ends quietly when aborted, and closes the connection', async () => {
      const { stream, controller } = await open();
      const seen = collect(stream);
      const session = sim.sessions.at(-1)!;
      sendInChunks(stream, utteranceAudio(0).subarray(0, 1600));
      controller.abort();
      await seen.done;
      expect(seen.failure).toBeUndefined();
      await sim.waitFor(() => !session.open);
      expect(session.closedBy).toBe('client');
    });

    it('close() sends everything, ends the stream and the connection', async () => {
      const { stream } = await open();
      const seen = collect(stream);
      const session = sim.sessions.at(-1)!;
      const audio = utteranceAudio(0).subarray(0, 3200);
      sendInChunks(stream, audio);
      await stream.close();
      await seen.done;
      expect(seen.failure).toBeUndefined();
      await sim.waitFor(() => !session.open);
      expect(session.bytesReceived).toBe(audio.length);
    });
  });
}
