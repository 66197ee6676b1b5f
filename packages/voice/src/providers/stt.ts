import type { AudioFormat } from '../audio/format.js';

export interface SttCapabilities {
  /** Formats accepted without transcoding, best first (telephony μ-law first where supported). */
  inputFormats: readonly AudioFormat[];
  interimResults: boolean;
  /** Sends an utterance-end signal from word timings (robust in noise). */
  utteranceEnd: boolean;
  /** Can be asked to flush what it has heard as a final (used when our VAD ends the turn). */
  finalize: boolean;
}

export interface SttStreamOptions {
  /** Must be one of `capabilities.inputFormats`. */
  format: AudioFormat;
  /** BCP 47 tag, e.g. `en-US`. */
  language: string;
  /** Words to boost. */
  keywords?: readonly string[];
  /** The vendor's own endpointing silence, when it has one. */
  endpointingMs?: number;
  /** Ends the stream (closing the socket); not an error. */
  signal: AbortSignal;
}

/** Times are milliseconds of audio since the stream started. */
export type SttEvent =
  | { type: 'interim'; text: string; confidence?: number }
  | {
      type: 'final';
      text: string;
      confidence?: number;
      /** The vendor's endpointing saw the end of the utterance. */
      speechFinal: boolean;
      /** This final answers a `finalize()`. */
      fromFinalize: boolean;
      startMs?: number;
      endMs?: number;
    }
  | { type: 'utterance_end'; lastWordEndMs?: number }
  | { type: 'speech_started'; atMs?: number };

/** One live recognition session (one per call). */
export interface SttStream extends AsyncIterable<SttEvent> {
  /** Queues audio in the format the stream was opened with. Never blocks; drops nothing. */
  sendAudio(audio: Uint8Array): void;
  /** Asks for everything heard so far as a final now. */
  finalize(): void;
  /** Flushes, waits for the last results, and closes. */
  close(): Promise<void>;
}

export interface SttProvider {
  /** Catalog id, e.g. `deepgram`. */
  readonly id: string;
  readonly capabilities: SttCapabilities;
  /** Opens the stream; rejects with a ProviderError if it cannot be opened. */
  stream(options: SttStreamOptions): Promise<SttStream>;
}
