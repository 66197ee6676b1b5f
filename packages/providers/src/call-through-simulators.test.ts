// A whole call on the real clock through the real adapters and the wire simulators on loopback: the
// caller plays recorded speech in real time, the Deepgram-style simulator hears it and sends the
// transcript, the model simulator answers, Cartesia's simulator speaks, and the caller hears it.
import {
  loadFixture,
  startCartesiaSimulator,
  startLlmSimulator,
  startSttSimulator,
  constant,
} from '@parley/testkit';
import {
  CallSession,
  InMemoryCall,
  MULAW_8K,
  SileroVadModel,
  WavWriter,
  encodeMulaw,
  memoryWavSink,
  parseWav,
  systemClock,
  type CallEvent,
} from '@parley/voice';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CartesiaTts } from './cartesia/tts.js';
import { DeepgramStt } from './deepgram/stt.js';
import { OpenAiCompatibleChat } from './openai/chat.js';

const FRAME_MS = 20;

type Sims = {
  stt: Awaited<ReturnType<typeof startSttSimulator>>;
  llm: Awaited<ReturnType<typeof startLlmSimulator>>;
  tts: Awaited<ReturnType<typeof startCartesiaSimulator>>;
};

let sims: Sims;

beforeAll(async () => {
  sims = {
    stt: await startSttSimulator({ apiKey: 'dg-key', finalLatencyMs: 20 }),
    llm: await startLlmSimulator({
      apiKey: 'llm-key',
      firstTokenLatency: constant(30),
      tokensPerSecond: 200,
    }),
    tts: await startCartesiaSimulator({ apiKey: 'tts-key', firstByteLatencyMs: 20 }),
  };
});

afterAll(async () => {
  await Promise.all([sims.stt.close(), sims.llm.close(), sims.tts.close()]);
});

/** Plays PCM16 8 kHz samples (then silence) into the call as a phone line would: 20 ms frames on absolute deadlines. */
function playLine(line: InMemoryCall, samples: Int16Array, trailingSilenceMs: number): Promise<void> {
  const frameSamples = (8000 * FRAME_MS) / 1000;
  const totalFrames = Math.ceil(samples.length / frameSamples) + trailingSilenceMs / FRAME_MS;
  const startedAt = performance.now();
  let frame = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.floor((performance.now() - startedAt) / FRAME_MS) + 1;
      for (; frame < Math.min(due, totalFrames); frame++) {
        const chunk = new Int16Array(frameSamples);
        chunk.set(samples.subarray(frame * frameSamples, (frame + 1) * frameSamples));
        line.speak(encodeMulaw(chunk));
      }
      if (frame >= totalFrames) return resolve();
      setTimeout(tick, Math.max(0, startedAt + (frame + 1) * FRAME_MS - performance.now()));
    };
    tick();
  });
}

function waitForEvent(events: CallEvent[], listeners: Set<() => void>, predicate: (e: CallEvent) => boolean) {
  return new Promise<CallEvent>((resolve) => {
    const check = () => {
      const found = events.find(predicate);
      if (found) {
        listeners.delete(check);
        resolve(found);
      }
    };
    listeners.add(check);
    check();
  });
}

describe('a call through the provider simulators', () => {
  it('hears recorded speech, answers through the model and speaks the reply', async () => {
    const fixture = loadFixture('opening-hours');
    sims.stt.queueUtterance(fixture.transcript!);
    sims.llm.script({ text: 'We open at nine on Saturdays.' });
    const line = new InMemoryCall({ clock: systemClock, inputFormat: MULAW_8K, outputFormat: MULAW_8K });
    const events: CallEvent[] = [];
    const listeners = new Set<() => void>();
    const sink = memoryWavSink();
    const session = new CallSession({
      callId: 'call-sim',
      transport: line.transport,
      agent: {
        systemPrompt: 'You answer questions about opening hours.',
        firstMessage: '',
        firstMessageMode: 'user-speaks',
        language: 'en-US',
        voice: 'voice-1',
        turnTaking: {
          endpointingSilenceMs: 400,
          minInterruptionSpeechMs: 200,
          minInterruptionWords: 1,
          backchannelWords: ['yeah'],
          interruptPhrases: ['stop'],
          falseInterruptionResumeMs: 1500,
          speculativeReplies: false,
          deadAirMs: 3000,
        },
        idle: { reminderAfterMs: 60_000, maxReminders: 0, reminderMessages: [], hangupMessage: 'Bye.' },
        maxDurationSeconds: 60,
        closingMessage: 'Bye.',
      },
      stt: new DeepgramStt({ apiKey: 'dg-key', baseUrl: sims.stt.url }),
      llm: new OpenAiCompatibleChat({ apiKey: 'llm-key', baseUrl: sims.llm.url, model: 'sim' }),
      tts: [new CartesiaTts({ apiKey: 'tts-key', baseUrl: sims.tts.baseUrl })],
      vad: (await SileroVadModel.shared()).createStream(8000),
      recording: new WavWriter(sink, { sampleRateHz: 8000, channels: 2 }),
      onEvent: (event) => {
        events.push(event);
        for (const listener of [...listeners]) listener();
      },
    });
    session.start();
    await playLine(line, fixture.samples, 1000);
    const turn = await waitForEvent(events, listeners, (e) => e.type === 'user.turn');
    expect(turn).toMatchObject({ text: fixture.transcript });
    const spoken = await waitForEvent(events, listeners, (e) => e.type === 'agent.speech.ended');
    expect(spoken).toMatchObject({ text: 'We open at nine on Saturdays.' });
    expect(line.receivedAudioMs).toBeGreaterThan(1000);
    // The model was asked with the system prompt and the caller's words.
    expect(sims.llm.requests[0]!.body.messages?.at(-1)).toEqual({
      role: 'user',
      content: fixture.transcript,
    });
    const latency = events.find(
      (e) => e.type === 'turn.latency' && e.latency.turnId === (turn as { turnId: number }).turnId,
    );
    expect(latency).toBeDefined();
    line.hangUp();
    const ended = await session.ended;
    expect(ended.reason).toBe('caller_hangup');
    const wav = parseWav(sink.bytes());
    expect(wav.channels).toBe(2);
    expect(Math.abs(wav.samples.length / 2 / 8 - ended.durationMs)).toBeLessThan(100);
  }, 20_000);
});
