// ElevenLabs TTS with input streaming (reference/wire-protocols.md §5.5): one WebSocket per utterance,
// opened when the utterance starts so the handshake overlaps the LLM's first token. Barge-in closes the
// socket, which is how this endpoint stops generating.
import WebSocket from 'ws';
import { MULAW_8K, ProviderError, providerErrorFromStatus } from '@parley/voice';
import type {
  AudioFormat,
  Clock,
  TtsCapabilities,
  TtsProvider,
  TtsStream,
  TtsStreamOptions,
} from '@parley/voice';
import {
  FirstByteTimer,
  TtsOutput,
  decodeBase64Audio,
  networkError,
  protocolError,
  resolveTiming,
} from '../tts-output.js';
import type { TtsTimingOptions } from '../tts-output.js';

const PROVIDER = 'elevenlabs';

export interface ElevenLabsVoiceSettings {
  stability: number;
  similarity_boost: number;
  speed?: number;
}

export interface ElevenLabsTtsOptions extends TtsTimingOptions {
  apiKey: string;
  /** Default `wss://api.elevenlabs.io`. */
  baseUrl?: string;
  /** Default `eleven_flash_v2_5`. */
  model?: string;
  voiceSettings?: ElevenLabsVoiceSettings;
}

const pcm16 = (sampleRateHz: 8000 | 16000 | 24000): AudioFormat => ({
  encoding: 'pcm16',
  sampleRateHz,
  channels: 1,
});

export const ELEVENLABS_TTS_CAPABILITIES: TtsCapabilities = {
  outputFormats: [MULAW_8K, pcm16(8000), pcm16(16000), pcm16(24000)],
  inputStreaming: true,
  wordTimestamps: true,
};

function toOutputFormat(format: AudioFormat): string {
  if (format.encoding === 'mulaw' && format.sampleRateHz === 8000) return 'ulaw_8000';
  if (format.encoding === 'pcm16' && format.sampleRateHz !== 48000) return `pcm_${format.sampleRateHz}`;
  throw new ProviderError(`elevenlabs cannot produce ${format.encoding} at ${format.sampleRateHz} Hz`, {
    category: 'bad_request',
    retryable: false,
    provider: PROVIDER,
  });
}

interface ServerMessage {
  audio?: string | null;
  isFinal?: boolean | null;
  error?: string;
  message?: string;
  code?: number;
}

const DEFAULT_VOICE_SETTINGS: ElevenLabsVoiceSettings = { stability: 0.5, similarity_boost: 0.8 };

export class ElevenLabsTts implements TtsProvider {
  readonly id = PROVIDER;
  readonly capabilities = ELEVENLABS_TTS_CAPABILITIES;

  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly model: string;
  private readonly voiceSettings: ElevenLabsVoiceSettings;
  private readonly clock: Clock;
  private readonly firstByteTimeoutMs: number;

  constructor(options: ElevenLabsTtsOptions) {
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? 'wss://api.elevenlabs.io').replace(/\/+$/, '');
    this.model = options.model ?? 'eleven_flash_v2_5';
    this.voiceSettings = options.voiceSettings ?? DEFAULT_VOICE_SETTINGS;
    ({ clock: this.clock, firstByteTimeoutMs: this.firstByteTimeoutMs } = resolveTiming(options));
  }

  stream(options: TtsStreamOptions): TtsStream {
    const { format, signal } = options;
    let socket: WebSocket | undefined;
    let finished = false;
    let ended = false;
    let sentText = false;
    let failure: ProviderError | undefined;
    const pending: string[] = [];

    const finish = (): void => {
      finished = true;
      timer.stop();
      signal.removeEventListener('abort', onAbort);
    };
    const closeUpstream = (): void => {
      finish();
      // Closing is the cancel: the server stops generating for this socket.
      if (socket && socket.readyState !== WebSocket.CLOSED) socket.close(1000);
    };
    const output = new TtsOutput(closeUpstream);
    const fail = (error: ProviderError): void => {
      if (finished) return;
      closeUpstream();
      output.fail(error);
    };
    const timer = new FirstByteTimer(this.clock, this.firstByteTimeoutMs, fail, PROVIDER);
    const onAbort = (): void => {
      closeUpstream();
      output.abort();
    };

    const send = (message: Record<string, unknown>): void => {
      const json = JSON.stringify(message);
      if (socket?.readyState === WebSocket.OPEN) socket.send(json);
      else pending.push(json);
    };

    if (signal.aborted) {
      finished = true;
      output.abort();
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        socket = this.open(options, format);
      } catch (error) {
        if (error instanceof ProviderError) fail(error);
        else throw error;
      }
    }

    if (socket) {
      const ws = socket;
      ws.on('open', () => {
        // The first message must be a single space; it carries the voice settings.
        const speed = options.speed ?? this.voiceSettings.speed;
        ws.send(
          JSON.stringify({
            text: ' ',
            voice_settings: { ...this.voiceSettings, ...(speed === undefined ? {} : { speed }) },
          }),
        );
        for (const json of pending.splice(0)) ws.send(json);
      });
      ws.on('unexpected-response', (_request, response) => {
        failure = providerErrorFromStatus(PROVIDER, response.statusCode ?? 0, response.statusMessage ?? '');
        response.resume();
        ws.terminate();
      });
      ws.on('error', (error) => {
        failure ??= networkError(PROVIDER, `socket error: ${error.message}`, error);
      });
      ws.on('message', (data, isBinary) => {
        if (finished || isBinary) return;
        let message: ServerMessage;
        try {
          message = JSON.parse(data.toString()) as ServerMessage;
        } catch (error) {
          fail(protocolError(PROVIDER, 'unparseable message', error));
          return;
        }
        if (typeof message.error === 'string') {
          failure = new ProviderError(`elevenlabs error: ${message.error}: ${message.message ?? ''}`, {
            category: 'server',
            retryable: true,
            provider: PROVIDER,
          });
          fail(failure);
          return;
        }
        if (typeof message.audio === 'string' && message.audio.length > 0) {
          timer.stop();
          output.push({ audio: decodeBase64Audio(message.audio), format });
        }
        if (message.isFinal === true) {
          finish();
          output.end();
          ws.close(1000);
        }
      });
      ws.on('close', (code, reason) => {
        if (finished) return;
        fail(failure ?? closeError(code, reason.toString()));
      });
    }

    return {
      pushText: (text) => {
        if (finished || ended || text.length === 0) return;
        // Each chunk should end with a space so words at chunk boundaries are not glued together.
        send({ text: text.endsWith(' ') ? text : `${text} ` });
        sentText = true;
        timer.arm();
      },
      end: () => {
        if (finished || ended) return;
        ended = true;
        if (!sentText) {
          finish();
          output.end();
          socket?.close(1000);
          return;
        }
        // Flush generates whatever text is still buffered; the empty text then ends the input.
        send({ text: ' ', flush: true });
        send({ text: '' });
      },
      [Symbol.asyncIterator]: () => output[Symbol.asyncIterator](),
    };
  }

  private open(options: TtsStreamOptions, format: AudioFormat): WebSocket {
    const query = new URLSearchParams({
      model_id: options.model ?? this.model,
      output_format: toOutputFormat(format),
      // We push whole clauses, so the server need not wait for its chunk schedule to fill up.
      auto_mode: 'true',
    });
    // ElevenLabs wants ISO 639-1 (`en`), not a BCP 47 tag (`en-US`).
    const languageCode = options.language?.split('-')[0];
    if (languageCode) query.set('language_code', languageCode);
    const url = `${this.baseUrl}/v1/text-to-speech/${encodeURIComponent(options.voice)}/stream-input?${query}`;
    return new WebSocket(url, { headers: { 'xi-api-key': this.apiKey } });
  }
}

/** ElevenLabs reports failures by closing with 1008 and a reason; a bad key says so in the reason. */
function closeError(code: number, reason: string): ProviderError {
  if (code === 1008 && /api.?key|unauthori[sz]ed|authenticat/i.test(reason)) {
    return new ProviderError(`elevenlabs refused the credentials: ${reason}`, {
      category: 'auth',
      retryable: false,
      provider: PROVIDER,
      status: code,
    });
  }
  if (code === 1008 || code === 1011) {
    return new ProviderError(`elevenlabs closed the stream (${code}): ${reason}`, {
      category: 'server',
      retryable: true,
      provider: PROVIDER,
      status: code,
    });
  }
  return networkError(PROVIDER, `connection closed before the last audio (code ${code})`, undefined, code);
}
