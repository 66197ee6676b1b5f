// An OpenAI-style speech endpoint: `POST /v1/audio/speech` with a bearer key, streaming raw 24 kHz PCM16
// (`pcm`) or a streaming WAV (`wav`) as it is generated; errors as `{"error":{message,type,code}}`.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AudioFormat } from '@parley/voice';
import { SimulatorState, SpeechGenerator, resolveSimOptions } from './engine.js';
import type { TtsSimulator, TtsSimulatorOptions } from './engine.js';

export type OpenAiTtsSimulator = TtsSimulator;

const PCM_24K: AudioFormat = { encoding: 'pcm16', sampleRateHz: 24000, channels: 1 };

function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null,
): void {
  const body = JSON.stringify({ error: { message, type, param: null, code } });
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
}

/** A WAV header for a stream of unknown length (sizes set to the maximum, as streaming encoders do). */
function streamingWavHeader(format: AudioFormat): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(0xffffffff, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(format.sampleRateHz, 24);
  header.writeUInt32LE(format.sampleRateHz * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(0xffffffff, 40);
  return header;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

export async function startOpenAiTtsSimulator(
  options: TtsSimulatorOptions = {},
): Promise<OpenAiTtsSimulator> {
  const state = new SimulatorState(resolveSimOptions(options));

  const server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/audio/speech') {
      sendError(response, 404, 'Not found', 'invalid_request_error', null);
      return;
    }
    const requestId = ++state.connectionCount;
    if (request.headers.authorization !== `Bearer ${state.options.apiKey}`) {
      sendError(response, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(request)) as Record<string, unknown>;
    } catch {
      sendError(response, 400, 'The body must be JSON.', 'invalid_request_error', null);
      return;
    }
    const utterance = state.startUtterance(`request-${requestId}`, requestId);
    state.record(utterance, body);
    const { model, input, voice } = body;
    const responseFormat = body.response_format ?? 'mp3';
    if (
      typeof model !== 'string' ||
      typeof input !== 'string' ||
      input.length === 0 ||
      typeof voice !== 'string'
    ) {
      sendError(response, 400, 'model, input and voice are required.', 'invalid_request_error', null);
      return;
    }
    if (responseFormat !== 'pcm' && responseFormat !== 'wav') {
      sendError(response, 400, 'The simulator speaks pcm and wav only.', 'invalid_request_error', null);
      return;
    }
    if (utterance.failure === 'error') {
      sendError(
        response,
        500,
        'The server had an error while processing your request.',
        'server_error',
        null,
      );
      return;
    }
    state.addText(utterance, input);
    utterance.format = PCM_24K;

    // Headers go out with the first audio, as a real time-to-first-byte would have them.
    let headersSent = false;
    const generator = new SpeechGenerator(
      state,
      utterance,
      PCM_24K,
      (audio) => {
        if (response.destroyed) return false;
        if (!headersSent) {
          headersSent = true;
          response.writeHead(200, {
            'Content-Type': responseFormat === 'wav' ? 'audio/wav' : 'audio/pcm',
            'Transfer-Encoding': 'chunked',
          });
          if (responseFormat === 'wav') response.write(streamingWavHeader(PCM_24K));
        }
        response.write(audio);
        return true;
      },
      () => response.socket?.destroy(),
    );
    response.on('close', () => {
      if (response.writableFinished) return;
      generator.stop();
      // The client went away before the end: an abort (unless we dropped it on purpose).
      if (utterance.failure !== 'drop') {
        utterance.cancelledAtMs = state.now();
        state.changed();
      }
    });
    await generator.speak(input);
    generator.then(() => {
      if (response.destroyed) return;
      if (!headersSent) response.writeHead(200, { 'Content-Type': 'audio/pcm' });
      response.end();
      utterance.completedAtMs = state.now();
      state.changed();
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey: state.options.apiKey,
    utterances: state.utterances,
    get connectionCount() {
      return state.connectionCount;
    },
    failNext: (failure) => state.failNext(failure),
    waitFor: (probe) => state.waitFor(probe),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
