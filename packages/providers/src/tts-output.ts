// The audio side of one TTS utterance, shared by the TTS adapters: a single-consumer queue of chunks
// that ends normally, fails with a ProviderError (after the audio already received), or is aborted
// (dropping unplayed audio and ending quietly, because barge-in is not an error).
import { ProviderError, systemClock } from '@parley/voice';
import type { Clock, TimerHandle, TtsChunk } from '@parley/voice';

export const DEFAULT_FIRST_BYTE_TIMEOUT_MS = 5000;

/** Options every TTS adapter accepts besides its credentials. */
export interface TtsTimingOptions {
  /** Drives the first-byte timeout; tests pass a ManualClock. */
  clock?: Clock;
  /** Longest wait from sending text to the first audio byte (default 5000 ms). */
  firstByteTimeoutMs?: number;
}

type Waiter = {
  resolve: (result: IteratorResult<TtsChunk>) => void;
  reject: (error: unknown) => void;
};

export class TtsOutput implements AsyncIterable<TtsChunk> {
  private readonly buffered: TtsChunk[] = [];
  private state: 'open' | 'ended' | 'failed' = 'open';
  private failure: ProviderError | undefined;
  private waiter: Waiter | undefined;
  private iterated = false;

  /** `onConsumerGone` runs when the consumer stops iterating early (break/return): cancel upstream. */
  constructor(private readonly onConsumerGone: () => void) {}

  get closed(): boolean {
    return this.state !== 'open';
  }

  push(chunk: TtsChunk): void {
    if (this.state !== 'open' || chunk.audio.byteLength === 0) return;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: chunk, done: false });
      return;
    }
    this.buffered.push(chunk);
  }

  /** The last audio has arrived; the iterator ends after the buffered chunks. */
  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.wake();
  }

  /** Fails the utterance; audio already received is still delivered first. */
  fail(error: ProviderError): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    this.wake();
  }

  /** Barge-in: unplayed audio is stale, so drop it and end without an error. */
  abort(): void {
    this.buffered.length = 0;
    if (this.state === 'failed') this.failure = undefined;
    this.state = 'ended';
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<TtsChunk> {
    if (this.iterated) throw new Error('a TTS stream can be iterated only once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: () => {
        if (this.state === 'open') this.onConsumerGone();
        this.abort();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private next(): Promise<IteratorResult<TtsChunk>> {
    const chunk = this.buffered.shift();
    if (chunk) return Promise.resolve({ value: chunk, done: false });
    if (this.state === 'ended') return Promise.resolve({ value: undefined, done: true });
    if (this.state === 'failed') {
      const failure = this.failure;
      this.state = 'ended';
      this.failure = undefined;
      return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    this.next().then(waiter.resolve, waiter.reject);
  }
}

/** Arms the first-byte deadline; `stop()` when audio arrives (or the utterance ends). */
export class FirstByteTimer {
  private handle: TimerHandle | undefined;
  private done = false;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onTimeout: (error: ProviderError) => void,
    private readonly provider: string,
  ) {}

  /** Starts the deadline if it is not running yet (text has just been handed to the vendor). */
  arm(): void {
    if (this.done || this.handle) return;
    this.handle = this.clock.setTimer(this.timeoutMs, () => {
      this.done = true;
      this.onTimeout(
        new ProviderError(`${this.provider} sent no audio within ${this.timeoutMs} ms`, {
          category: 'timeout',
          retryable: true,
          provider: this.provider,
        }),
      );
    });
  }

  stop(): void {
    this.done = true;
    this.handle?.cancel();
    this.handle = undefined;
  }
}

export function resolveTiming(options: TtsTimingOptions): { clock: Clock; firstByteTimeoutMs: number } {
  return {
    clock: options.clock ?? systemClock,
    firstByteTimeoutMs: options.firstByteTimeoutMs ?? DEFAULT_FIRST_BYTE_TIMEOUT_MS,
  };
}

/** A dropped or refused connection: worth retrying (possibly on another provider). */
export function networkError(
  provider: string,
  message: string,
  cause?: unknown,
  status?: number,
): ProviderError {
  return new ProviderError(`${provider}: ${message}`, {
    category: 'network',
    retryable: true,
    provider,
    cause,
    ...(status === undefined ? {} : { status }),
  });
}

export function protocolError(provider: string, message: string, cause?: unknown): ProviderError {
  return new ProviderError(`${provider}: ${message}`, {
    category: 'protocol',
    retryable: false,
    provider,
    cause,
  });
}

/** Decodes a base64 audio payload into bytes (a Buffer view, no extra copy). */
export function decodeBase64Audio(data: string): Uint8Array {
  return Buffer.from(data, 'base64');
}
