import type { AudioFormat } from '../audio/format.js';

export interface TtsCapabilities {
  /** Formats the vendor can produce directly, best first (telephony μ-law first where supported). */
  outputFormats: readonly AudioFormat[];
  /** Accepts text incrementally within one utterance (WebSocket vendors); otherwise one request per push. */
  inputStreaming: boolean;
  wordTimestamps: boolean;
}

export interface TtsStreamOptions {
  /** Must be one of `capabilities.outputFormats`. */
  format: AudioFormat;
  voice: string;
  model?: string;
  language?: string;
  speed?: number;
  /** Aborting cancels the vendor's generation (Cartesia `cancel`, closing the context or request). */
  signal: AbortSignal;
}

export interface TtsChunk {
  /** Audio in the stream's format; chunk sizes are whatever the vendor sent. */
  audio: Uint8Array;
  format: AudioFormat;
}

/** One assistant utterance: text goes in as it is generated, audio comes out in order. */
export interface TtsStream extends AsyncIterable<TtsChunk> {
  /** Appends text (clauses, with their spacing). */
  pushText(text: string): void;
  /** No more text: the iterator ends once the last audio has arrived. */
  end(): void;
}

export interface TtsProvider {
  /** Catalog id, e.g. `cartesia`. */
  readonly id: string;
  readonly capabilities: TtsCapabilities;
  /** Starts an utterance; connection failures surface as a ProviderError from the iterator. */
  stream(options: TtsStreamOptions): TtsStream;
}
