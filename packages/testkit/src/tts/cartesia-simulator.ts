// A Cartesia-style TTS WebSocket server (reference/wire-protocols.md §5.4): `/tts/websocket`, bearer or
// X-API-Key auth plus a Cartesia-Version, contexts multiplexed on one socket by `context_id`.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { isSampleRateHz } from '@parley/voice';
import type { AudioFormat } from '@parley/voice';
import {
  SimulatorState,
  SpeechGenerator,
  refuseUpgrade,
  resolveSimOptions,
  webSocketOnlyServer,
} from './engine.js';
import type { TtsSimulator, TtsSimulatorOptions, TtsSimUtterance } from './engine.js';

export interface CartesiaSimulator extends TtsSimulator {
  /** `Cartesia-Version` of each connection, in order. */
  readonly versions: readonly string[];
}

interface SimContext {
  utterance: TtsSimUtterance;
  generator: SpeechGenerator | undefined;
  /** No more messages are accepted for it (done, error or cancel). */
  closed: boolean;
}

const ENCODINGS: Record<string, AudioFormat['encoding']> = {
  pcm_mulaw: 'mulaw',
  pcm_alaw: 'alaw',
  pcm_s16le: 'pcm16',
};

function parseFormat(value: unknown): AudioFormat | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { container, encoding, sample_rate: sampleRate } = value as Record<string, unknown>;
  const core = typeof encoding === 'string' ? ENCODINGS[encoding] : undefined;
  if (container !== 'raw' || !core || typeof sampleRate !== 'number' || !isSampleRateHz(sampleRate))
    return undefined;
  return { encoding: core, sampleRateHz: sampleRate, channels: 1 };
}

function bearerKey(request: IncomingMessage, url: URL): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length);
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header;
  return url.searchParams.get('api_key') ?? url.searchParams.get('access_token') ?? undefined;
}

export async function startCartesiaSimulator(options: TtsSimulatorOptions = {}): Promise<CartesiaSimulator> {
  const state = new SimulatorState(resolveSimOptions(options));
  const versions: string[] = [];
  const http = webSocketOnlyServer();
  const { server, wss } = http;

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/tts/websocket') {
      refuseUpgrade(socket, 404, JSON.stringify({ error: 'not found' }));
      return;
    }
    if (bearerKey(request, url) !== state.options.apiKey) {
      refuseUpgrade(socket, 401, JSON.stringify({ error: 'Invalid API key' }));
      return;
    }
    const version = request.headers['cartesia-version'] ?? url.searchParams.get('cartesia_version');
    if (typeof version !== 'string' || version.length === 0) {
      refuseUpgrade(socket, 400, JSON.stringify({ error: 'Cartesia-Version is required' }));
      return;
    }
    versions.push(version);
    wss.handleUpgrade(request, socket, head, (ws) => serve(ws, ++state.connectionCount));
  });

  function serve(ws: WebSocket, connectionId: number): void {
    const contexts = new Map<string, SimContext>();
    let droppedByUs = false;
    const sendJson = (message: Record<string, unknown>): boolean => {
      if (ws.readyState !== ws.OPEN) return false;
      ws.send(JSON.stringify(message));
      return true;
    };
    const sendError = (
      contextId: string | undefined,
      statusCode: number,
      title: string,
      message: string,
    ): void => {
      sendJson({
        type: 'error',
        done: true,
        title,
        message,
        error_code: statusCode >= 500 ? 'internal_error' : 'invalid_request',
        status_code: statusCode,
        ...(contextId === undefined ? {} : { context_id: contextId }),
      });
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      let message: Record<string, unknown>;
      try {
        if (isBinary) throw new Error('binary');
        message = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        sendError(undefined, 400, 'Invalid message', 'messages must be JSON text');
        return;
      }
      const contextId = message.context_id;
      if (typeof contextId !== 'string' || contextId.length === 0) {
        sendError(undefined, 400, 'Invalid message', 'context_id is required');
        return;
      }
      const existing = contexts.get(contextId);
      if (message.cancel === true) {
        if (existing) {
          state.record(existing.utterance, message);
          if (!existing.closed) {
            existing.closed = true;
            existing.generator?.stop();
            existing.utterance.cancelledAtMs = state.now();
            state.changed();
          }
        }
        return;
      }
      const context = existing ?? openContext(contextId);
      state.record(context.utterance, message);
      if (context.closed) return;
      const format = parseFormat(message.output_format);
      const voice = message.voice as { id?: unknown } | string | undefined;
      const voiceId = typeof voice === 'string' ? voice : voice?.id;
      if (typeof message.model_id !== 'string' || typeof voiceId !== 'string' || !format) {
        context.closed = true;
        sendError(contextId, 400, 'Invalid request', 'model_id, voice and a raw output_format are required');
        return;
      }
      if (context.utterance.failure === 'error') {
        context.closed = true;
        sendError(contextId, 500, 'Internal error', 'simulated generation failure');
        return;
      }
      if (!context.generator) {
        context.utterance.format = format;
        context.generator = new SpeechGenerator(
          state,
          context.utterance,
          format,
          (audio) =>
            sendJson({
              type: 'chunk',
              data: Buffer.from(audio).toString('base64'),
              done: false,
              status_code: 206,
              step_time: 0,
              context_id: contextId,
            }),
          () => {
            droppedByUs = true;
            ws.terminate();
          },
        );
      }
      const transcript = typeof message.transcript === 'string' ? message.transcript : '';
      state.addText(context.utterance, transcript);
      void context.generator.speak(transcript);
      if (message.continue !== true) {
        context.generator.then(() => {
          if (context.closed) return;
          context.closed = true;
          sendJson({ type: 'done', done: true, status_code: 206, context_id: contextId });
          context.utterance.completedAtMs = state.now();
          state.changed();
        });
      }
    });

    ws.on('close', () => {
      for (const context of contexts.values()) {
        context.generator?.stop();
        if (!context.closed && !droppedByUs) context.utterance.cancelledAtMs ??= state.now();
        context.closed = true;
      }
      state.changed();
    });

    function openContext(contextId: string): SimContext {
      const context: SimContext = {
        utterance: state.startUtterance(contextId, connectionId),
        generator: undefined,
        closed: false,
      };
      contexts.set(contextId, context);
      return context;
    }
  }

  const baseUrl = await http.listen();

  return {
    baseUrl,
    apiKey: state.options.apiKey,
    utterances: state.utterances,
    versions,
    get connectionCount() {
      return state.connectionCount;
    },
    failNext: (failure) => state.failNext(failure),
    waitFor: (probe) => state.waitFor(probe),
    close: () => http.close(),
  };
}
