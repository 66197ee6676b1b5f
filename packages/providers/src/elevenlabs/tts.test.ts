import { describe, expect, it } from 'vitest';
import { MULAW_8K } from '@parley/voice';
import type { TtsChunk, TtsStream } from '@parley/voice';
import { startElevenLabsSimulator } from '@parley/testkit';
import { describeTtsConformance } from '@parley/testkit/conformance';
import { ElevenLabsTts } from './tts.js';

describeTtsConformance('ElevenLabs', {
  startSimulator: startElevenLabsSimulator,
  makeProvider: (sim, overrides) =>
    new ElevenLabsTts({ apiKey: overrides.apiKey ?? sim.apiKey, baseUrl: sim.baseUrl, ...overrides }),
  voice: '21m00Tcm4TlvDq8ikWAM',
});

async function drain(stream: TtsStream): Promise<TtsChunk[]> {
  const chunks: TtsChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('ElevenLabs TTS wire protocol', () => {
  it('opens stream-input for the voice with ulaw_8000, sends a space first, spaced chunks, flush, then ""', async () => {
    const sim = await startElevenLabsSimulator({ firstByteLatencyMs: 0, chunkIntervalMs: 0 });
    try {
      const tts = new ElevenLabsTts({ apiKey: sim.apiKey, baseUrl: sim.baseUrl });
      const stream = tts.stream({ format: MULAW_8K, voice: 'voice-1', signal: new AbortController().signal });
      stream.pushText('Hello, how can I');
      stream.pushText('help you today?');
      stream.end();
      expect((await drain(stream)).length).toBeGreaterThan(0);

      expect(sim.connections).toHaveLength(1);
      const { voiceId, query } = sim.connections[0]!;
      expect(voiceId).toBe('voice-1');
      expect(query.get('model_id')).toBe('eleven_flash_v2_5');
      expect(query.get('output_format')).toBe('ulaw_8000');
      const messages = sim.utterances[0]!.messages.map((message) => message.data);
      expect(messages).toEqual([
        { text: ' ', voice_settings: { stability: 0.5, similarity_boost: 0.8 } },
        { text: 'Hello, how can I ' },
        { text: 'help you today? ' },
        { text: ' ', flush: true },
        { text: '' },
      ]);
      expect(sim.utterances[0]!.completedAtMs).toBeDefined();
    } finally {
      await sim.close();
    }
  });

  it('uses one socket per utterance and closes it on abort', async () => {
    const sim = await startElevenLabsSimulator({
      firstByteLatencyMs: 0,
      chunkIntervalMs: 5,
      chunkDurationMs: 20,
    });
    try {
      const tts = new ElevenLabsTts({ apiKey: sim.apiKey, baseUrl: sim.baseUrl });
      const controller = new AbortController();
      const stream = tts.stream({ format: MULAW_8K, voice: 'v', signal: controller.signal });
      stream.pushText('A long answer that the caller is about to interrupt, and rather soon.');
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      controller.abort();
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
      const utterance = await sim.waitFor(() => sim.utterances.find((u) => u.cancelledAtMs !== undefined));
      expect(utterance.completedAtMs).toBeUndefined();
      expect(sim.connectionCount).toBe(1);
    } finally {
      await sim.close();
    }
  });
});
