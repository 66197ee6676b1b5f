// Cartesia TTS over its WebSocket (reference/wire-protocols.md §5.4). One socket per provider instance,
// opened lazily and reopened after it closes; each utterance is one `context_id` on it, so a new turn
// costs no handshake and barge-in is a `cancel` message rather than a reconnect.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ALAW_8K, MULAW_8K, ProviderError, providerErrorFromStatus } from '@parley/voice';
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

const PROVIDER = 'cartesia';

/** The API version the current SDK (4.2) sends; overridable because Cartesia dates its versions. */
export const CARTESIA_DEFAULT_VERSION = '2026-08-14';

export interface CartesiaTtsOptions extends TtsTimingOptions {
  apiKey: string;
  /** Default `wss://api.cartesia.ai`. */
  baseUrl?: string;
  /** Default `sonic-2`. */
  model?: string;
  /** `Cartesia-Version` header. */
  version?: string;
  /** Default `en`. */
  language?: string;
  /** Ask for word timestamps (they are not surfaced yet; off by default to save bandwidth). */
  addTimestamps?: boolean;
}

const pcm16 = (sampleRateHz: 8000 | 16000 | 24000 | 48000): AudioFormat => ({
  encoding: 'pcm16',
  sampleRateHz,
  channels: 1,
});

export const CARTESIA_TTS_CAPABILITIES: TtsCapabilities = {
  outputFormats: [MULAW_8K, ALAW_8K, pcm16(8000), pcm16(16000), pcm16(24000), pcm16(48000)],
  inputStreaming: true,
  wordTimestamps: true,
};

interface CartesiaOutputFormat {
  container: 'raw';
  encoding: 'pcm_mulaw' | 'pcm_alaw' | 'pcm_s16le';
  sample_rate: number;
}

function toCartesiaFormat(format: AudioFormat): CartesiaOutputFormat {
  const encoding =
    format.encoding === 'mulaw' ? 'pcm_mulaw' : format.encoding === 'alaw' ? 'pcm_alaw' : 'pcm_s16le';
  return { container: 'raw', encoding, sample_rate: format.sampleRateHz };
}

interface ServerMessage {
  type?: string;
  context_id?: string;
  data?: string;
  done?: boolean;
  status_code?: number;
  title?: string;
  message?: string;
  error?: string;
  error_code?: string;
}

/** One utterance: what the connection needs to route server messages to it. */
interface ContextSink {
  onAudio(audio: Uint8Array): void;
  onDone(): void;
  onError(error: ProviderError): void;
}

/**
 * One socket and the contexts living on it. A context stays on the socket it started on; when that
 * socket dies its contexts fail, and the next utterance gets a fresh socket.
 */
class CartesiaConnection {
  readonly socket: WebSocket;
  private pending: string[] = [];
  private readonly contexts = new Map<string, ContextSink>();
  private failure: ProviderError | undefined;

  constructor(url: string, headers: Record<string, string>) {
    const socket = new WebSocket(url, { headers });
    this.socket = socket;
    socket.on('open', () => {
      for (const json of this.pending.splice(0)) socket.send(json);
    });
    socket.on('unexpected-response', (_request, response) => {
      // The handshake was refused: the status says why (401 bad key, 429 too many connections...).
      this.failure = providerErrorFromStatus(
        PROVIDER,
        response.statusCode ?? 0,
        response.statusMessage ?? '',
      );
      response.resume();
      socket.terminate();
    });
    socket.on('error', (error) => {
      this.failure ??= networkError(PROVIDER, `socket error: ${error.message}`, error);
    });
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    socket.on('close', (code) => {
      this.pending = [];
      this.failAll(
        this.failure ?? networkError(PROVIDER, `connection closed (code ${code})`, undefined, code),
      );
    });
  }

  /** Still usable for a new context (open, or about to be). */
  get usable(): boolean {
    return this.socket.readyState === WebSocket.CONNECTING || this.socket.readyState === WebSocket.OPEN;
  }

  register(contextId: string, sink: ContextSink): void {
    this.contexts.set(contextId, sink);
  }

  forget(contextId: string): void {
    this.contexts.delete(contextId);
  }

  send(message: Record<string, unknown>): void {
    const json = JSON.stringify(message);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(json);
    else if (this.socket.readyState === WebSocket.CONNECTING) this.pending.push(json);
  }

  close(): void {
    this.socket.close(1000);
  }

  private onMessage(json: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(json) as ServerMessage;
    } catch (error) {
      this.failAll(protocolError(PROVIDER, 'unparseable message', error));
      return;
    }
    const sink = message.context_id === undefined ? undefined : this.contexts.get(message.context_id);
    if (message.type === 'error') {
      const error = cartesiaError(message);
      if (sink) sink.onError(error);
      else if (message.context_id === undefined) this.failAll(error);
      return;
    }
    if (!sink) return; // a late message for a cancelled or finished context
    if (message.type === 'chunk' && typeof message.data === 'string') {
      sink.onAudio(decodeBase64Audio(message.data));
    }
    if (message.type === 'done' || (message.done === true && message.type !== 'flush_done')) sink.onDone();
  }

  private failAll(error: ProviderError): void {
    const sinks = [...this.contexts.values()];
    this.contexts.clear();
    for (const sink of sinks) sink.onError(error);
  }
}

export class CartesiaTts implements TtsProvider {
  readonly id = PROVIDER;
  readonly capabilities = CARTESIA_TTS_CAPABILITIES;

  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly model: string;
  private readonly version: string;
  private readonly language: string;
  private readonly addTimestamps: boolean;
  private readonly clock: Clock;
  private readonly firstByteTimeoutMs: number;
  private connection: CartesiaConnection | undefined;

  constructor(options: CartesiaTtsOptions) {
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? 'wss://api.cartesia.ai').replace(/\/+$/, '');
    this.model = options.model ?? 'sonic-2';
    this.version = options.version ?? CARTESIA_DEFAULT_VERSION;
    this.language = options.language ?? 'en';
    this.addTimestamps = options.addTimestamps ?? false;
    ({ clock: this.clock, firstByteTimeoutMs: this.firstByteTimeoutMs } = resolveTiming(options));
  }

  stream(options: TtsStreamOptions): TtsStream {
    const contextId = randomUUID();
    const format = options.format;
    const signal = options.signal;
    /** The connection this context lives on, bound by its first text. */
    let connection: CartesiaConnection | undefined;
    let ended = false;
    let finished = false;

    const finish = (): void => {
      finished = true;
      timer.stop();
      connection?.forget(contextId);
      signal.removeEventListener('abort', onAbort);
    };
    const cancelUpstream = (): void => {
      if (connection && !finished) connection.send({ context_id: contextId, cancel: true });
      finish();
    };
    const output = new TtsOutput(cancelUpstream);
    const timer = new FirstByteTimer(
      this.clock,
      this.firstByteTimeoutMs,
      (error) => {
        cancelUpstream();
        output.fail(error);
      },
      PROVIDER,
    );
    const onAbort = (): void => {
      cancelUpstream();
      output.abort();
    };
    if (signal.aborted) {
      finished = true;
      output.abort();
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
    }

    const sink: ContextSink = {
      onAudio: (audio) => {
        timer.stop();
        output.push({ audio, format });
      },
      onDone: () => {
        finish();
        output.end();
      },
      onError: (error) => {
        finish();
        output.fail(error);
      },
    };

    const message = (transcript: string, more: boolean): Record<string, unknown> => ({
      model_id: options.model ?? this.model,
      transcript,
      voice: { mode: 'id', id: options.voice },
      language: options.language ?? this.language,
      context_id: contextId,
      continue: more,
      output_format: toCartesiaFormat(format),
      ...(options.speed === undefined ? {} : { generation_config: { speed: options.speed } }),
      ...(this.addTimestamps ? { add_timestamps: true } : {}),
    });

    return {
      pushText: (text) => {
        if (finished || ended || text.length === 0) return;
        if (!connection) {
          connection = this.acquire();
          connection.register(contextId, sink);
        }
        connection.send(message(text, true));
        timer.arm();
      },
      end: () => {
        if (finished || ended) return;
        ended = true;
        if (!connection) {
          // Nothing was said: no context exists upstream, so there is nothing to close.
          finish();
          output.end();
          return;
        }
        connection.send(message('', false));
      },
      [Symbol.asyncIterator]: () => output[Symbol.asyncIterator](),
    };
  }

  /** Closes the shared socket; utterances still running fail as network errors. */
  close(): void {
    this.connection?.close();
    this.connection = undefined;
  }

  /** The shared connection, opened on first use and replaced once it has closed. */
  private acquire(): CartesiaConnection {
    if (!this.connection?.usable) {
      this.connection = new CartesiaConnection(`${this.baseUrl}/tts/websocket`, {
        Authorization: `Bearer ${this.apiKey}`,
        'Cartesia-Version': this.version,
      });
    }
    return this.connection;
  }
}

function cartesiaError(message: ServerMessage): ProviderError {
  const detail = [message.title, message.error_code, message.message ?? message.error]
    .filter(Boolean)
    .join(': ');
  if (typeof message.status_code === 'number' && message.status_code >= 400) {
    return providerErrorFromStatus(PROVIDER, message.status_code, detail);
  }
  return new ProviderError(`cartesia error: ${detail}`, {
    category: 'server',
    retryable: true,
    provider: PROVIDER,
  });
}
