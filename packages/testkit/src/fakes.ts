// In-process providers driven by a test's clock: a scripted model, a recogniser the test feeds words
// to, a synthesiser whose audio length follows the text, and a threshold VAD. They implement the same
// interfaces as the real adapters (which are tested against the wire simulators separately), so
// turn-taking can be tested deterministically, millisecond by millisecond.
import {
  MULAW_8K,
  ProviderError,
  encodeMulaw,
  pcm16Rms,
  type AudioFormat,
  type ChatMessage,
  type ChatRequest,
  type Clock,
  type LlmEvent,
  type LlmProvider,
  type SttEvent,
  type SttProvider,
  type SttStream,
  type SttStreamOptions,
  type ToolCall,
  type TtsChunk,
  type TtsProvider,
  type TtsStream,
  type TtsStreamOptions,
  type VadAnalyzer,
  type VadWindow,
} from '@parley/voice';

/** Resolves after `ms` on `clock` (or at once for 0), rejecting if `signal` aborts first. */
export function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    const onAbort = () => {
      timer.cancel();
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  return new DOMException('aborted', 'AbortError');
}

// --- LLM ---------------------------------------------------------------------------------------------

export interface ScriptedReply {
  text?: string;
  toolCalls?: { name: string; arguments: unknown; id?: string }[];
  /** Delay before the first token. */
  firstTokenMs?: number;
  /** Delay between words. */
  perWordMs?: number;
  /** Fail with this error (before any token). */
  error?: ProviderError;
  /** Never answer: wait until aborted. */
  hang?: boolean;
}

export interface RecordedChat {
  messages: ChatMessage[];
  toolNames: string[];
  aborted: boolean;
  abortedAtMs: number | null;
}

export class ScriptedLlm implements LlmProvider {
  readonly model = 'scripted';
  readonly capabilities = { tools: true, parallelToolCalls: true };
  readonly requests: RecordedChat[] = [];
  private readonly replies: (ScriptedReply | ((messages: ChatMessage[]) => ScriptedReply))[] = [];
  private callCounter = 0;

  constructor(
    private readonly clock: Clock,
    readonly id = 'scripted-llm',
  ) {}

  /** Queues replies, used in order; with none left the model answers "OK." */
  reply(...replies: (ScriptedReply | ((messages: ChatMessage[]) => ScriptedReply))[]): this {
    this.replies.push(...replies);
    return this;
  }

  async *chat(request: ChatRequest): AsyncGenerator<LlmEvent> {
    const record: RecordedChat = {
      messages: structuredClone([...request.messages]),
      toolNames: (request.tools ?? []).map((tool) => tool.name),
      aborted: false,
      abortedAtMs: null,
    };
    this.requests.push(record);
    request.signal.addEventListener(
      'abort',
      () => {
        record.aborted = true;
        record.abortedAtMs = this.clock.now();
      },
      { once: true },
    );
    const next = this.replies.shift() ?? { text: 'OK.' };
    const reply = typeof next === 'function' ? next(record.messages) : next;
    try {
      if (reply.hang) {
        await new Promise<void>((_, reject) =>
          request.signal.addEventListener('abort', () => reject(abortError()), { once: true }),
        );
      }
      await delay(this.clock, reply.firstTokenMs ?? 0, request.signal);
      if (reply.error) throw reply.error;
      const words = reply.text?.match(/\S+\s*/g) ?? [];
      for (const [index, word] of words.entries()) {
        if (index > 0) await delay(this.clock, reply.perWordMs ?? 0, request.signal);
        yield { type: 'text', text: word };
      }
      const calls: ToolCall[] = (reply.toolCalls ?? []).map((call) => ({
        id: call.id ?? `call_${++this.callCounter}`,
        name: call.name,
        arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
      }));
      for (const call of calls) yield { type: 'tool_call', call };
      yield { type: 'done', finishReason: calls.length > 0 ? 'tool_calls' : 'stop' };
    } catch (error) {
      if (request.signal.aborted) return;
      throw error;
    }
  }
}

// --- STT ---------------------------------------------------------------------------------------------

/** A recogniser the test speaks for: it records the audio it gets and emits what the test says. */
export class FakeStt implements SttProvider {
  readonly id = 'fake-stt';
  readonly capabilities = {
    inputFormats: [MULAW_8K] as const,
    interimResults: true,
    utteranceEnd: true,
    finalize: true,
  };
  readonly streams: FakeSttStream[] = [];
  /** Makes the next `stream()` call fail with this error. */
  failNextOpen: ProviderError | null = null;

  async stream(options: SttStreamOptions): Promise<SttStream> {
    if (this.failNextOpen) {
      const error = this.failNextOpen;
      this.failNextOpen = null;
      throw error;
    }
    const stream = new FakeSttStream(options);
    this.streams.push(stream);
    return stream;
  }

  /** The live stream (the last one opened). */
  get current(): FakeSttStream {
    const stream = this.streams.at(-1);
    if (!stream) throw new Error('no STT stream was opened');
    return stream;
  }
}

export class FakeSttStream implements SttStream {
  audioBytes = 0;
  /** Byte length of each `sendAudio` call, in order. */
  readonly audioMessages: number[] = [];
  finalizeCalls = 0;
  closed = false;
  private readonly queue: SttEvent[] = [];
  private wake: (() => void) | null = null;
  private failure: ProviderError | null = null;

  constructor(readonly options: SttStreamOptions) {
    options.signal.addEventListener('abort', () => this.finish(), { once: true });
  }

  sendAudio(audio: Uint8Array): void {
    this.audioBytes += audio.byteLength;
    this.audioMessages.push(audio.byteLength);
  }

  finalize(): void {
    this.finalizeCalls++;
  }

  async close(): Promise<void> {
    this.finish();
  }

  interim(text: string): void {
    this.emit({ type: 'interim', text });
  }

  final(text: string, speechFinal = true): void {
    this.emit({ type: 'final', text, speechFinal, fromFinalize: false });
  }

  utteranceEnd(): void {
    this.emit({ type: 'utterance_end' });
  }

  /** The connection drops: the iterator throws. */
  fail(
    error = new ProviderError('stt socket dropped', {
      category: 'network',
      retryable: true,
      provider: 'fake-stt',
    }),
  ): void {
    this.failure = error;
    this.wake?.();
  }

  emit(event: SttEvent): void {
    this.queue.push(event);
    this.wake?.();
  }

  private finish(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SttEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.closed) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}

// --- TTS ---------------------------------------------------------------------------------------------

export interface FakeTtsOptions {
  id?: string;
  /** Audio produced per character of text. */
  msPerChar?: number;
  firstByteMs?: number;
  chunkMs?: number;
  /** Every stream fails with this error before any audio. */
  failWith?: ProviderError | null;
  format?: AudioFormat;
}

/** A synthesiser producing a steady tone, `msPerChar` per character, faster than real time. */
export class FakeTts implements TtsProvider {
  readonly id: string;
  readonly capabilities: TtsProvider['capabilities'];
  readonly texts: string[] = [];
  aborted = 0;
  private readonly options: Required<Omit<FakeTtsOptions, 'id' | 'format'>>;

  constructor(
    private readonly clock: Clock,
    options: FakeTtsOptions = {},
  ) {
    this.id = options.id ?? 'fake-tts';
    this.capabilities = {
      outputFormats: [options.format ?? MULAW_8K],
      inputStreaming: true,
      wordTimestamps: false,
    };
    this.options = {
      msPerChar: options.msPerChar ?? 50,
      firstByteMs: options.firstByteMs ?? 0,
      chunkMs: options.chunkMs ?? 100,
      failWith: options.failWith ?? null,
    };
  }

  set failWith(error: ProviderError | null) {
    this.options.failWith = error;
  }

  stream(options: TtsStreamOptions): TtsStream {
    let text = '';
    let ended: () => void = () => {};
    const endedPromise = new Promise<void>((resolve) => (ended = resolve));
    options.signal.addEventListener('abort', () => this.aborted++, { once: true });
    const synthesize = () => this.synthesize(() => text, endedPromise, options.signal);
    return {
      pushText(piece: string) {
        text += piece;
      },
      end() {
        ended();
      },
      [Symbol.asyncIterator]: synthesize,
    };
  }

  private async *synthesize(
    text: () => string,
    ended: Promise<void>,
    signal: AbortSignal,
  ): AsyncGenerator<TtsChunk> {
    try {
      await ended;
      this.texts.push(text());
      await delay(this.clock, this.options.firstByteMs, signal);
      if (this.options.failWith) throw this.options.failWith;
      let remainingMs = text().trim().length * this.options.msPerChar;
      while (remainingMs > 0) {
        const ms = Math.min(this.options.chunkMs, remainingMs);
        remainingMs -= ms;
        yield { audio: toneMulaw(ms), format: MULAW_8K };
      }
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
  }
}

// --- audio and VAD -------------------------------------------------------------------------------------

/** `ms` of a 220 Hz tone as 8 kHz μ-law: loud enough for the threshold VAD to call it speech. */
export function toneMulaw(ms: number, amplitude = 8000): Uint8Array {
  const samples = new Int16Array(Math.round(ms * 8));
  for (let i = 0; i < samples.length; i++)
    samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 220 * i) / 8000));
  return encodeMulaw(samples);
}

export function silenceMulaw(ms: number): Uint8Array {
  return new Uint8Array(Math.round(ms * 8)).fill(0xff);
}

/** A VAD whose probability is 0.9 for windows louder than `rmsThreshold` (share of full scale), else 0.05. */
export class ThresholdVad implements VadAnalyzer {
  readonly sampleRateHz = 8000;
  readonly windows: VadWindow[] = [];
  private carry = new Int16Array(0);
  private processedSamples = 0;

  constructor(
    private readonly rmsThreshold = 0.015,
    private readonly windowSamples = 256,
  ) {}

  push(samples: Int16Array): VadWindow[] {
    const all = new Int16Array(this.carry.length + samples.length);
    all.set(this.carry);
    all.set(samples, this.carry.length);
    const out: VadWindow[] = [];
    let offset = 0;
    for (; offset + this.windowSamples <= all.length; offset += this.windowSamples) {
      const window = all.subarray(offset, offset + this.windowSamples);
      this.processedSamples += this.windowSamples;
      const result = {
        probability: pcm16Rms(window) >= this.rmsThreshold ? 0.9 : 0.05,
        endMs: (this.processedSamples * 1000) / this.sampleRateHz,
      };
      out.push(result);
      this.windows.push(result);
    }
    this.carry = all.slice(offset);
    return out;
  }

  close(): void {}
}
