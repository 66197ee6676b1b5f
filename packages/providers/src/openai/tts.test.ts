import { describe, expect, it } from 'vitest';
import type { TtsChunk, TtsStream } from '@parley/voice';
import { simulatedSpeech, startOpenAiTtsSimulator } from '@parley/testkit';
import { describeTtsConformance, expectSameAudio } from '@parley/testkit/conformance';
import { OPENAI_PCM_24K, OpenAiTts } from './tts.js';

describeTtsConformance('OpenAI', {
  startSimulator: startOpenAiTtsSimulator,
  makeProvider: (sim, overrides) =>
    new OpenAiTts({ apiKey: overrides.apiKey ?? sim.apiKey, baseUrl: sim.baseUrl, ...overrides }),
  voice: 'alloy',
});

async function drain(stream: TtsStream): Promise<TtsChunk[]> {
  const chunks: TtsChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('OpenAI TTS wire protocol', () => {
  it('posts one pcm request per clause with the model, voice, speed and instructions', async () => {
    const sim = await startOpenAiTtsSimulator({ firstByteLatencyMs: 0, chunkIntervalMs: 0 });
    try {
      const tts = new OpenAiTts({
        apiKey: sim.apiKey,
        baseUrl: sim.baseUrl,
        instructions: 'Warm and brief.',
      });
      const stream = tts.stream({
        format: OPENAI_PCM_24K,
        voice: 'coral',
        speed: 1.1,
        signal: new AbortController().signal,
      });
      stream.pushText('Hello there. ');
      stream.pushText('How can I help?');
      stream.end();
      await drain(stream);
      expect(sim.utterances.map((u) => u.messages[0]!.data)).toEqual([
        {
          model: 'gpt-4o-mini-tts',
          input: 'Hello there. ',
          voice: 'coral',
          response_format: 'pcm',
          speed: 1.1,
          instructions: 'Warm and brief.',
        },
        expect.objectContaining({ input: 'How can I help?' }),
      ]);
    } finally {
      await sim.close();
    }
  });

  it('yields audio in clause order even when a later request answers first', async () => {
    // The first request waits 60 ms before its first byte, the second none: the second finishes first.
    const latencies = [60, 0];
    const sim = await startOpenAiTtsSimulator({
      firstByteLatencyMs: { sample: () => latencies.shift() ?? 0 },
      chunkIntervalMs: 0,
    });
    try {
      const tts = new OpenAiTts({ apiKey: sim.apiKey, baseUrl: sim.baseUrl });
      const stream = tts.stream({
        format: OPENAI_PCM_24K,
        voice: 'alloy',
        signal: new AbortController().signal,
      });
      stream.pushText('First clause, ');
      stream.pushText('then the second.');
      stream.end();
      const audio = Buffer.concat((await drain(stream)).map((chunk) => chunk.audio));
      const [first, second] = sim.utterances;
      expect(second!.completedAtMs!).toBeLessThan(first!.completedAtMs!);
      expectSameAudio(
        audio,
        Buffer.concat([
          simulatedSpeech('First clause, ', OPENAI_PCM_24K),
          simulatedSpeech('then the second.', OPENAI_PCM_24K),
        ]),
      );
    } finally {
      await sim.close();
    }
  });

  it('refuses formats other than 24 kHz PCM16 without calling the API', async () => {
    const sim = await startOpenAiTtsSimulator({ firstByteLatencyMs: 0 });
    try {
      const tts = new OpenAiTts({ apiKey: sim.apiKey, baseUrl: sim.baseUrl });
      const stream = tts.stream({
        format: { encoding: 'mulaw', sampleRateHz: 8000, channels: 1 },
        voice: 'alloy',
        signal: new AbortController().signal,
      });
      stream.pushText('Hello.');
      await expect(drain(stream)).rejects.toMatchObject({ category: 'bad_request' });
      expect(sim.connectionCount).toBe(0);
    } finally {
      await sim.close();
    }
  });
});
