import { describe, expect, it } from 'vitest';
import { MULAW_8K } from '@parley/voice';
import type { TtsChunk, TtsStream } from '@parley/voice';
import { startCartesiaSimulator } from '@parley/testkit';
import { describeTtsConformance } from '@parley/testkit/conformance';
import { CARTESIA_DEFAULT_VERSION, CartesiaTts } from './tts.js';

describeTtsConformance('Cartesia', {
  startSimulator: startCartesiaSimulator,
  makeProvider: (sim, overrides) =>
    new CartesiaTts({ apiKey: overrides.apiKey ?? sim.apiKey, baseUrl: sim.baseUrl, ...overrides }),
  voice: 'a0e99841-438c-4a64-b679-ae501e7d6091',
  sharesConnection: true,
});

async function drain(stream: TtsStream): Promise<TtsChunk[]> {
  const chunks: TtsChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('Cartesia TTS wire protocol', () => {
  it('streams one context per utterance: μ-law 8 kHz, continue until end, an empty final transcript', async () => {
    const sim = await startCartesiaSimulator({ firstByteLatencyMs: 0, chunkIntervalMs: 0 });
    try {
      const tts = new CartesiaTts({ apiKey: sim.apiKey, baseUrl: sim.baseUrl, model: 'sonic-2' });
      const stream = tts.stream({
        format: MULAW_8K,
        voice: 'voice-1',
        language: 'en',
        signal: new AbortController().signal,
      });
      stream.pushText('Hello, how can I ');
      stream.pushText('help you today?');
      stream.end();
      expect((await drain(stream)).length).toBeGreaterThan(0);

      expect(sim.versions).toEqual([CARTESIA_DEFAULT_VERSION]);
      const [utterance] = sim.utterances;
      const messages = utterance!.messages.map((message) => message.data as Record<string, unknown>);
      expect(messages).toHaveLength(3);
      expect(messages[0]).toEqual({
        model_id: 'sonic-2',
        transcript: 'Hello, how can I ',
        voice: { mode: 'id', id: 'voice-1' },
        language: 'en',
        context_id: utterance!.id,
        continue: true,
        output_format: { container: 'raw', encoding: 'pcm_mulaw', sample_rate: 8000 },
      });
      expect(messages[1]).toMatchObject({ transcript: 'help you today?', continue: true });
      expect(messages[2]).toMatchObject({ transcript: '', continue: false, context_id: utterance!.id });
      expect(utterance!.completedAtMs).toBeDefined();
      tts.close();
    } finally {
      await sim.close();
    }
  });

  it('sends cancel for the interrupted context only, on the shared socket', async () => {
    const sim = await startCartesiaSimulator({
      firstByteLatencyMs: 0,
      chunkIntervalMs: 5,
      chunkDurationMs: 20,
    });
    try {
      const tts = new CartesiaTts({ apiKey: sim.apiKey, baseUrl: sim.baseUrl });
      const interrupted = new AbortController();
      const first = tts.stream({ format: MULAW_8K, voice: 'v', signal: interrupted.signal });
      const second = tts.stream({ format: MULAW_8K, voice: 'v', signal: new AbortController().signal });
      first.pushText('A long answer that the caller is about to interrupt, and rather soon.');
      second.pushText('Short.');
      second.end();
      const iterator = first[Symbol.asyncIterator]();
      await iterator.next();
      interrupted.abort();
      expect(await iterator.next()).toEqual({ value: undefined, done: true });

      const cancelled = await sim.waitFor(() => sim.utterances.find((u) => u.cancelledAtMs !== undefined));
      expect(cancelled.messages.at(-1)!.data).toEqual({ context_id: cancelled.id, cancel: true });
      expect((await drain(second)).length).toBeGreaterThan(0);
      expect(sim.connectionCount).toBe(1);
      tts.close();
    } finally {
      await sim.close();
    }
  });
});
