import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MULAW_8K, PCM16_16K, ProviderError, isAbort } from '@parley/voice';
import type { SttEvent } from '@parley/voice';
import { startSttSimulator } from '@parley/testkit';
import { describeSttConformance } from '@parley/testkit/conformance';
import type { SttSimulator } from '@parley/testkit';
import { DeepgramStt } from './stt.js';

describeSttConformance(
  'deepgram',
  (sim, hints) =>
    new DeepgramStt({
      apiKey: sim.apiKey ?? 'unused',
      baseUrl: sim.url,
      keepAliveIntervalMs: hints.keepAliveIntervalMs,
      reconnectDelayMs: 0,
    }),
);

describe('DeepgramStt', () => {
  let sim: SttSimulator;
  const controllers: AbortController[] = [];
  const signal = (): AbortSignal => {
    const controller = new AbortController();
    controllers.push(controller);
    return controller.signal;
  };

  beforeAll(async () => {
    sim = await startSttSimulator({ apiKey: 'secret-key-123', finalLatencyMs: 0 });
  });
  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.abort();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('declares telephony μ-law first, then A-law and PCM16 at every rate', () => {
    const formats = new DeepgramStt({ apiKey: 'k' }).capabilities.inputFormats;
    expect(formats[0]).toEqual(MULAW_8K);
    expect(formats.map((f) => `${f.encoding}/${f.sampleRateHz}`)).toEqual([
      'mulaw/8000',
      'alaw/8000',
      'pcm16/8000',
      'pcm16/16000',
      'pcm16/24000',
      'pcm16/48000',
    ]);
  });

  it('opens /v1/listen with the telephony query and a Token header', async () => {
    const stt = new DeepgramStt({ apiKey: 'secret-key-123', baseUrl: `${sim.url}/`, utteranceEndMs: 1200 });
    const stream = await stt.stream({
      format: PCM16_16K,
      language: 'en-US',
      keywords: ['Parley', 'Saturday'],
      endpointingMs: 250,
      signal: signal(),
    });
    const session = sim.sessions.at(-1)!;
    expect(session.headers.authorization).toBe('Token secret-key-123');
    const query = Object.fromEntries(session.query);
    expect(query).toMatchObject({
      model: 'nova-3',
      encoding: 'linear16',
      sample_rate: '16000',
      channels: '1',
      interim_results: 'true',
      utterance_end_ms: '1200',
      vad_events: 'true',
      endpointing: '250',
      smart_format: 'true',
      language: 'en-US',
    });
    expect(session.query.getAll('keyterm')).toEqual(['Parley', 'Saturday']);
    await stream.close();
    expect(session.messagesReceived.map((m) => m.type)).toContain('CloseStream');
  });

  it('boosts with keywords on models before nova-3', async () => {
    const stt = new DeepgramStt({ apiKey: 'secret-key-123', baseUrl: sim.url, model: 'nova-2' });
    const stream = await stt.stream({
      format: MULAW_8K,
      language: 'en',
      keywords: ['Parley'],
      signal: signal(),
    });
    const session = sim.sessions.at(-1)!;
    expect(session.query.getAll('keywords')).toEqual(['Parley']);
    expect(session.query.has('keyterm')).toBe(false);
    await stream.close();
  });

  it('refuses a format Deepgram is not given natively', async () => {
    const stt = new DeepgramStt({ apiKey: 'k', baseUrl: sim.url });
    const failure = await stt
      .stream({
        format: { encoding: 'alaw', sampleRateHz: 16000, channels: 1 },
        language: 'en',
        signal: signal(),
      })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ category: 'bad_request', retryable: false });
  });

  it('never puts the API key in an auth error', async () => {
    const stt = new DeepgramStt({ apiKey: 'wrong-key-456', baseUrl: sim.url });
    const failure = await stt
      .stream({ format: MULAW_8K, language: 'en', signal: signal() })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProviderError);
    expect((failure as ProviderError).status).toBe(401);
    expect(String((failure as Error).message)).not.toContain('wrong-key-456');
  });

  it('reports a refused connection as a retryable network error', async () => {
    const closed = await startSttSimulator();
    const url = closed.url;
    await closed.close();
    const stt = new DeepgramStt({ apiKey: 'k', baseUrl: url });
    const failure = await stt
      .stream({ format: MULAW_8K, language: 'en', signal: signal() })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ category: 'network', retryable: true });
  });

  it('reports a handshake that never completes as a timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket)); // accepts TCP, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const stt = new DeepgramStt({ apiKey: 'k', baseUrl: `ws://127.0.0.1:${port}`, connectTimeoutMs: 50 });
      const failure = await stt
        .stream({ format: MULAW_8K, language: 'en', signal: signal() })
        .catch((e: unknown) => e);
      expect(failure).toMatchObject({ category: 'timeout', retryable: true });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('rejects as an abort when aborted before the socket opens', async () => {
    const controller = new AbortController();
    controller.abort();
    const stt = new DeepgramStt({ apiKey: 'secret-key-123', baseUrl: sim.url });
    const failure = await stt
      .stream({ format: MULAW_8K, language: 'en', signal: controller.signal })
      .catch((e: unknown) => e);
    expect(isAbort(failure)).toBe(true);
  });

  it('throws a retryable network error when the socket drops and cannot be reopened', async () => {
    const doomed = await startSttSimulator({ apiKey: 'k' });
    const stt = new DeepgramStt({ apiKey: 'k', baseUrl: doomed.url, reconnectDelayMs: 0 });
    const stream = await stt.stream({ format: MULAW_8K, language: 'en', signal: signal() });
    await doomed.close(); // drops the socket and stops listening
    const failure = await (async () => {
      for await (const _event of stream) {
        // no speech was sent: nothing expected
      }
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ category: 'network', retryable: true });
  });

  it('skips empty interims but passes a Finalize answer even when nothing was heard', async () => {
    const stt = new DeepgramStt({ apiKey: 'secret-key-123', baseUrl: sim.url });
    const stream = await stt.stream({ format: MULAW_8K, language: 'en', signal: signal() });
    stream.sendAudio(new Uint8Array(1600).fill(0xff)); // 200 ms of μ-law silence
    stream.finalize();
    const events: SttEvent[] = [];
    for await (const event of stream) {
      events.push(event);
      if (event.type === 'final') break;
    }
    expect(events).toEqual([expect.objectContaining({ type: 'final', text: '', fromFinalize: true })]);
  });
});
