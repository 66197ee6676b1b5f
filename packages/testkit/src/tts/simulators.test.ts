import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MULAW_8K, decodeMulaw, pcm16Rms } from '@parley/voice';
import { startCartesiaSimulator } from './cartesia-simulator.js';
import { startElevenLabsSimulator } from './elevenlabs-simulator.js';
import { startOpenAiTtsSimulator } from './openai-simulator.js';
import { simulatedSpeech } from './synth.js';

describe('simulatedSpeech', () => {
  it('lasts 60 ms per spoken character, is audible throughout and depends only on the text', () => {
    const audio = simulatedSpeech('  Hello there.  ', MULAW_8K);
    expect(audio.byteLength).toBe(12 * 60 * 8); // 12 characters × 60 ms × 8 samples/ms
    expect(audio).toEqual(simulatedSpeech('Hello there.', MULAW_8K));
    expect(audio).not.toEqual(simulatedSpeech('Hello where.', MULAW_8K));
    const samples = decodeMulaw(audio);
    for (let offset = 0; offset < samples.length; offset += 160) {
      expect(pcm16Rms(samples.subarray(offset, offset + 160))).toBeGreaterThan(0.05); // full scale is 1: well above line noise
    }
    expect(simulatedSpeech('   ', MULAW_8K).byteLength).toBe(0);
  });
});

describe('TTS simulators at the wire', () => {
  it('Cartesia refuses a bad key (401) and a missing Cartesia-Version (400) at the handshake', async () => {
    const sim = await startCartesiaSimulator();
    try {
      const statusOf = async (headers: Record<string, string>): Promise<number> => {
        const ws = new WebSocket(`${sim.baseUrl}/tts/websocket`, { headers });
        ws.on('error', () => undefined); // terminating a refused handshake reports one
        const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
        ws.terminate();
        return response.statusCode;
      };
      expect(await statusOf({ Authorization: 'Bearer nope', 'Cartesia-Version': '2025-04-16' })).toBe(401);
      expect(await statusOf({ Authorization: `Bearer ${sim.apiKey}` })).toBe(400);
    } finally {
      await sim.close();
    }
  });

  it('ElevenLabs closes with 1008 when the first message is not a single space', async () => {
    const sim = await startElevenLabsSimulator();
    try {
      const ws = new WebSocket(
        `${sim.baseUrl}/v1/text-to-speech/v/stream-input?model_id=m&output_format=ulaw_8000`,
        {
          headers: { 'xi-api-key': sim.apiKey },
        },
      );
      await once(ws, 'open');
      ws.send(JSON.stringify({ text: 'Hello ' }));
      const [code] = (await once(ws, 'close')) as [number, Buffer];
      expect(code).toBe(1008);
    } finally {
      await sim.close();
    }
  });

  it('OpenAI streams a WAV header before 24 kHz PCM for wav, and rejects formats it does not speak', async () => {
    const sim = await startOpenAiTtsSimulator({ firstByteLatencyMs: 0, chunkIntervalMs: 0 });
    try {
      const post = (body: Record<string, unknown>) =>
        fetch(`${sim.baseUrl}/audio/speech`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${sim.apiKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini-tts', input: 'Hi there.', voice: 'alloy', ...body }),
        });
      const wav = Buffer.from(await (await post({ response_format: 'wav' })).arrayBuffer());
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.readUInt32LE(24)).toBe(24000);
      expect(wav.byteLength).toBe(44 + 9 * 60 * 24 * 2);
      const mp3 = await post({});
      expect(mp3.status).toBe(400);
      expect(((await mp3.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
      expect(sim.utterances[0]!.firstAudioSentAtMs).toBeGreaterThanOrEqual(sim.utterances[0]!.startedAtMs);
    } finally {
      await sim.close();
    }
  });
});
