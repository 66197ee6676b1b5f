// An ElevenLabs-style input-streaming TTS server (reference/wire-protocols.md §5.5):
// `/v1/text-to-speech/{voice}/stream-input`, one utterance per socket, `xi-api-key` auth, a single-space
// first message, `{"text":""}` to end, `{"isFinal":true}` after the last audio. Failures close with 1008.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { AudioFormat } from '@parley/voice';
import {
  SimulatorState,
  SpeechGenerator,
  refuseUpgrade,
  resolveSimOptions,
  webSocketOnlyServer,
} from './engine.js';
import type { TtsSimulator, TtsSimulatorOptions } from './engine.js';

export interface ElevenLabsSimulator extends TtsSimulator {
  /** Voice id and query of each connection, in order. */
  readonly connections: readonly { voiceId: string; query: URLSearchParams }[];
}

const OUTPUT_FORMATS: Record<string, AudioFormat> = {
  ulaw_8000: { encoding: 'mulaw', sampleRateHz: 8000, channels: 1 },
  pcm_8000: { encoding: 'pcm16', sampleRateHz: 8000, channels: 1 },
  pcm_16000: { encoding: 'pcm16', sampleRateHz: 16000, channels: 1 },
  pcm_24000: { encoding: 'pcm16', sampleRateHz: 24000, channels: 1 },
};

const PATH = /^\/v1\/text-to-speech\/([^/]+)\/stream-input$/;

export async function startElevenLabsSimulator(
  options: TtsSimulatorOptions = {},
): Promise<ElevenLabsSimulator> {
  const state = new SimulatorState(resolveSimOptions(options));
  const connections: { voiceId: string; query: URLSearchParams }[] = [];
  const http = webSocketOnlyServer();
  const { server, wss } = http;

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = PATH.exec(url.pathname);
    if (!match) {
      refuseUpgrade(socket, 404, JSON.stringify({ detail: 'Not Found' }));
      return;
    }
    const voiceId = decodeURIComponent(match[1]!);
    connections.push({ voiceId, query: url.searchParams });
    wss.handleUpgrade(request, socket, head, (ws) =>
      serve(ws, request, url.searchParams, ++state.connectionCount),
    );
  });

  function serve(
    ws: WebSocket,
    request: IncomingMessage,
    query: URLSearchParams,
    connectionId: number,
  ): void {
    const utterance = state.startUtterance(`connection-${connectionId}`, connectionId);
    const headerKey = request.headers['xi-api-key'];
    const format = OUTPUT_FORMATS[query.get('output_format') ?? ''];
    let authorised = typeof headerKey === 'string' && headerKey === state.options.apiKey;
    let messageCount = 0;
    let finished = false;
    let closedByUs = false;
    let generator: SpeechGenerator | undefined;

    const closeWith = (code: number, reason: string): void => {
      finished = true;
      closedByUs = true;
      generator?.stop();
      ws.close(code, reason);
    };

    if (typeof headerKey === 'string' && !authorised) {
      closeWith(1008, 'Invalid API key');
      return;
    }
    if (!format || !query.get('model_id')) {
      closeWith(1008, 'model_id and a supported output_format are required');
      return;
    }
    utterance.format = format;

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (finished) return;
      let message: Record<string, unknown>;
      try {
        if (isBinary) throw new Error('binary');
        message = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        closeWith(1008, 'Invalid message received: expected JSON');
        return;
      }
      state.record(utterance, message);
      messageCount++;
      const text = message.text;
      if (typeof text !== 'string') {
        closeWith(1008, 'Invalid message received: text is required');
        return;
      }
      if (messageCount === 1) {
        // The key may also travel in the first message when the header is missing.
        if (!authorised) authorised = message.xi_api_key === state.options.apiKey;
        if (!authorised) closeWith(1008, 'Invalid API key');
        else if (text !== ' ') closeWith(1008, 'The first message must contain a single space as text');
        return;
      }
      if (utterance.failure === 'error') {
        ws.send(
          JSON.stringify({ message: 'simulated generation failure', error: 'internal_error', code: 1011 }),
        );
        closeWith(1008, 'We are sorry, something went wrong.');
        return;
      }
      generator ??= new SpeechGenerator(
        state,
        utterance,
        format,
        (audio) => {
          if (ws.readyState !== ws.OPEN) return false;
          ws.send(
            JSON.stringify({
              audio: Buffer.from(audio).toString('base64'),
              isFinal: null,
              normalizedAlignment: null,
              alignment: null,
            }),
          );
          return true;
        },
        () => {
          finished = true;
          closedByUs = true;
          ws.terminate();
        },
      );
      if (text === '') {
        finished = true;
        generator.then(() => {
          if (ws.readyState !== ws.OPEN) return;
          ws.send(JSON.stringify({ isFinal: true }));
          utterance.completedAtMs = state.now();
          state.changed();
          closedByUs = true;
          ws.close(1000);
        });
        return;
      }
      state.addText(utterance, text);
      void generator.speak(text);
    });

    ws.on('close', () => {
      generator?.stop();
      if (!closedByUs && utterance.completedAtMs === undefined) utterance.cancelledAtMs = state.now();
      state.changed();
    });
  }

  const baseUrl = await http.listen();

  return {
    baseUrl,
    apiKey: state.options.apiKey,
    utterances: state.utterances,
    connections,
    get connectionCount() {
      return state.connectionCount;
    },
    failNext: (failure) => state.failNext(failure),
    waitFor: (probe) => state.waitFor(probe),
    close: () => http.close(),
  };
}
