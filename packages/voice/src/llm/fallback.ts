// A chain of model providers that looks like one. A provider that fails, or stays silent too long,
// before saying anything is replaced by the next one without the caller noticing; once words have
// gone out the failure is the caller's to handle (text cannot be unsaid).
import type { Clock, TimerHandle } from '../clock.js';
import { systemClock } from '../clock.js';
import { ProviderError } from '../providers/errors.js';
import type { ChatRequest, LlmCapabilities, LlmEvent, LlmProvider } from '../providers/llm.js';

export const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = 5_000;

export interface LlmFallbackEvent {
  /** The abandoned provider as `id/model` (e.g. `openai/gpt-4o`): two models of one vendor differ. */
  from: string;
  /** The provider tried next, as `id/model`. */
  to: string;
  /** Why `from` was given up (a `timeout` error when it stayed silent). */
  error: ProviderError;
}

export interface FallbackLlmOptions {
  /** For the first-token deadline; the process clock by default. */
  clock?: Clock;
  /** A provider that yields nothing within this long is abandoned, the last one too (Infinity: never). */
  firstTokenTimeoutMs?: number;
  onFallback?(event: LlmFallbackEvent): void;
}

export class FallbackLlm implements LlmProvider {
  readonly id: string;
  readonly model: string;
  /** The primary's: a fallback that cannot use tools is sent the request without them. */
  readonly capabilities: LlmCapabilities;
  private readonly providers: readonly LlmProvider[];
  private readonly clock: Clock;
  private readonly firstTokenTimeoutMs: number;
  private readonly onFallback: ((event: LlmFallbackEvent) => void) | undefined;

  /** `providers` are tried in order: the primary first. */
  constructor(providers: readonly LlmProvider[], options: FallbackLlmOptions = {}) {
    const primary = providers[0];
    if (!primary) throw new Error('FallbackLlm needs at least one provider');
    this.providers = providers;
    this.id = primary.id;
    this.model = primary.model;
    this.capabilities = primary.capabilities;
    this.clock = options.clock ?? systemClock;
    this.firstTokenTimeoutMs = options.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
    this.onFallback = options.onFallback;
  }

  /**
   * Streams from the first provider that answers. Throws the last provider's error when all fail
   * (non-ProviderErrors are wrapped as `protocol` errors); ends quietly when `request.signal` aborts.
   */
  async *chat(request: ChatRequest): AsyncGenerator<LlmEvent> {
    let lastError: ProviderError | undefined;
    for (let index = 0; index < this.providers.length; index++) {
      if (request.signal.aborted) return;
      const provider = this.providers[index]!;
      const attempt = new AbortController();
      const forwardAbort = () => attempt.abort(request.signal.reason);
      request.signal.addEventListener('abort', forwardAbort, { once: true });
      let iterator: AsyncIterator<LlmEvent> | undefined;
      let yielded = false;
      let completed = false;
      try {
        const { tools, ...rest } = request;
        const attemptRequest: ChatRequest = {
          ...rest,
          ...(tools && provider.capabilities.tools ? { tools } : {}),
          signal: attempt.signal,
        };
        iterator = provider.chat(attemptRequest)[Symbol.asyncIterator]();
        const first = await this.next(iterator, request.signal, provider, attempt);
        if (first === ABORTED) return;
        if (first.done) {
          completed = true;
          return;
        }
        yielded = true;
        yield first.value;
        for (;;) {
          const step = await this.next(iterator, request.signal, null, attempt);
          if (step === ABORTED) return;
          if (step.done) {
            completed = true;
            return;
          }
          yield step.value;
        }
      } catch (error) {
        // Only the caller's abort is quiet: a provider's own abort or timeout error is a failure.
        if (request.signal.aborted) return;
        if (yielded) throw error;
        lastError = toProviderError(error, provider);
        const next = this.providers[index + 1];
        if (next) this.onFallback?.({ from: label(provider), to: label(next), error: lastError });
      } finally {
        request.signal.removeEventListener('abort', forwardAbort);
        if (!completed) {
          // Stops the abandoned request; its iterator is closed without waiting (it may hang).
          attempt.abort();
          void iterator?.return?.()?.catch(() => {});
        }
      }
    }
    if (lastError) throw lastError;
  }

  /**
   * The iterator's next step, raced against the caller's abort and (for the first event) the
   * first-token deadline, which aborts the attempt and throws a `timeout` ProviderError.
   */
  private next(
    iterator: AsyncIterator<LlmEvent>,
    signal: AbortSignal,
    deadlineFor: LlmProvider | null,
    attempt: AbortController,
  ): Promise<IteratorResult<LlmEvent> | typeof ABORTED> {
    return new Promise((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const onAbort = () => {
        timer?.cancel();
        resolve(ABORTED);
      };
      if (signal.aborted) return resolve(ABORTED);
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        timer?.cancel();
        signal.removeEventListener('abort', onAbort);
      };
      if (deadlineFor && Number.isFinite(this.firstTokenTimeoutMs)) {
        const timeoutMs = this.firstTokenTimeoutMs;
        timer = this.clock.setTimer(timeoutMs, () => {
          done();
          reject(
            new ProviderError(`${deadlineFor.id} sent nothing within ${timeoutMs} ms`, {
              category: 'timeout',
              retryable: true,
              provider: deadlineFor.id,
            }),
          );
          attempt.abort();
        });
      }
      iterator.next().then(
        (step) => {
          done();
          resolve(step);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }
}

const ABORTED = Symbol('aborted');

function toProviderError(error: unknown, provider: LlmProvider): ProviderError {
  if (error instanceof ProviderError) return error;
  return new ProviderError(`${provider.id} failed unexpectedly`, {
    category: 'protocol',
    retryable: true,
    provider: provider.id,
    cause: error,
  });
}

function label(provider: LlmProvider): string {
  return `${provider.id}/${provider.model}`;
}
