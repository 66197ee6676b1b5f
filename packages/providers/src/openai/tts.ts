// OpenAI speech (`POST /audio/speech`), which takes whole text: one HTTP request per pushed clause.
// Requests start as soon as their text arrives (so clause N+1 is synthesised while N plays) but their
// audio is yielded strictly in order. `pcm` is raw 24 kHz 16-bit little-endian mono, streamed as made.
import { ProviderError, isAbort, providerErrorFromStatus } from '@parley/voice';
import type {
  AudioFormat,
  Clock,
  TtsCapabilities,
  TtsChunk,
  TtsProvider,
  TtsStream,
  TtsStreamOptions,
} from '@parley/voice';
import { FirstByteTimer, TtsOutput, networkError, resolveTiming } from '../tts-output.js';
import type { TtsTimingOptions } from '../tts-output.js';

const PROVIDER = 'openai';

export const OPENAI_PCM_24K: AudioFormat = { encoding: 'pcm16', sampleRateHz: 24000, channels: 1 };

export const OPENAI_TTS_CAPABILITIES: TtsCapabilities = {
  outputFormats: [OPENAI_PCM_24K],
  inputStreaming: false,
  wordTimestamps: false,
};

export interface OpenAiTtsOptions extends TtsTimingOptions {
  apiKey: string;
  /** Default `https://api.openai.com/v1`. */
  baseUrl?: string;
  /** Default `gpt-4o-mini-tts`. */
  model?: string;
  /** Delivery instructions (tone, accent); gpt-4o-mini-tts only. */
  instructions?: string;
}

/** One clause's request; its body is read only when it is at the head of the queue. */
interface ClauseRequest {
  response: Promise<Response>;
}

export class OpenAiTts implements TtsProvider {
  readonly id = PROVIDER;
  readonly capabilities = OPENAI_TTS_CAPABILITIES;

  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly model: string;
  private readonly instructions: string | undefined;
  private readonly clock: Clock;
  private readonly firstByteTimeoutMs: number;

  constructor(options: OpenAiTtsOptions) {
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    this.model = options.model ?? 'gpt-4o-mini-tts';
    this.instructions = options.instructions;
    ({ clock: this.clock, firstByteTimeoutMs: this.firstByteTimeoutMs } = resolveTiming(options));
  }

  stream(options: TtsStreamOptions): TtsStream {
    const { signal } = options;
    const format = options.format;
    // One controller for every request of the utterance: abort, timeout or failure cancels them all.
    const upstream = new AbortController();
    const queue: ClauseRequest[] = [];
    let ended = false;
    let finished = false;
    let wakePump: (() => void) | undefined;

    const finish = (): void => {
      finished = true;
      signal.removeEventListener('abort', onAbort);
      upstream.abort();
      wakePump?.();
    };
    const output = new TtsOutput(finish);
    const fail = (error: ProviderError): void => {
      if (finished) return;
      finish();
      output.fail(error);
    };
    const onAbort = (): void => {
      finish();
      output.abort();
    };

    if (format.encoding !== 'pcm16' || format.sampleRateHz !== 24000) {
      fail(
        new ProviderError(
          `openai speech is 24 kHz pcm16 only, not ${format.encoding} ${format.sampleRateHz} Hz`,
          {
            category: 'bad_request',
            retryable: false,
            provider: PROVIDER,
          },
        ),
      );
    } else if (signal.aborted) {
      finished = true;
      output.abort();
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
    }

    const nextRequest = async (): Promise<ClauseRequest | undefined> => {
      for (;;) {
        const request = queue.shift();
        if (request || ended || finished) return request;
        await new Promise<void>((resolve) => {
          wakePump = resolve;
        });
        wakePump = undefined;
      }
    };

    const pump = async (): Promise<void> => {
      for (;;) {
        const request = await nextRequest();
        if (!request || finished) break;
        await this.relay(request, format, output, fail, upstream.signal);
        if (finished) return;
      }
      if (!finished) {
        finish();
        output.end();
      }
    };
    if (!finished) {
      pump().catch((error: unknown) => {
        if (!isAbort(error, upstream.signal)) fail(networkError(PROVIDER, 'speech request failed', error));
      });
    }

    return {
      pushText: (text) => {
        if (finished || ended || text.trim().length === 0) return;
        queue.push({ response: this.request(text, options, upstream.signal) });
        wakePump?.();
      },
      end: () => {
        if (ended) return;
        ended = true;
        wakePump?.();
      },
      [Symbol.asyncIterator]: () => output[Symbol.asyncIterator](),
    };
  }

  private request(text: string, options: TtsStreamOptions, signal: AbortSignal): Promise<Response> {
    const body = {
      model: options.model ?? this.model,
      input: text,
      voice: options.voice,
      response_format: 'pcm',
      ...(options.speed === undefined ? {} : { speed: options.speed }),
      ...(this.instructions === undefined ? {} : { instructions: this.instructions }),
    };
    const response = fetch(`${this.baseUrl}/audio/speech`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    // Settled later by the pump; an early rejection must not count as unhandled meanwhile.
    response.catch(() => undefined);
    return response;
  }

  /** Streams one clause's audio into the output, keeping whole samples across network chunks. */
  private async relay(
    request: ClauseRequest,
    format: AudioFormat,
    output: TtsOutput,
    fail: (error: ProviderError) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const timer = new FirstByteTimer(this.clock, this.firstByteTimeoutMs, fail, PROVIDER);
    timer.arm();
    try {
      let response: Response;
      try {
        response = await request.response;
      } catch (error) {
        if (isAbort(error, signal)) return;
        fail(networkError(PROVIDER, 'speech request failed', error));
        return;
      }
      if (!response.ok) {
        fail(providerErrorFromStatus(PROVIDER, response.status, await errorDetail(response)));
        return;
      }
      if (!response.body) return;
      const reader = response.body.getReader();
      let carry: Uint8Array | undefined;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value.byteLength === 0) continue;
          timer.stop();
          const chunk = wholeSamples(carry, value);
          carry = chunk.rest;
          if (chunk.audio.byteLength > 0) output.push({ audio: chunk.audio, format } satisfies TtsChunk);
        }
      } catch (error) {
        if (isAbort(error, signal)) return;
        fail(networkError(PROVIDER, 'speech stream broke off', error));
      } finally {
        reader.releaseLock();
      }
    } finally {
      timer.stop();
    }
  }
}

/** Joins a carried odd byte with the next network chunk and splits off a new trailing odd byte. */
function wholeSamples(
  carry: Uint8Array | undefined,
  value: Uint8Array,
): { audio: Uint8Array; rest: Uint8Array | undefined } {
  const joined = carry ? Buffer.concat([carry, value]) : value;
  const evenLength = joined.byteLength - (joined.byteLength % 2);
  return {
    audio: joined.subarray(0, evenLength),
    rest: evenLength === joined.byteLength ? undefined : joined.slice(evenLength),
  };
}

async function errorDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; code?: string } };
    return parsed.error?.message ?? parsed.error?.code ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
