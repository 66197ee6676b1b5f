import { OutboundRequestError } from './outbound-error.js';

export interface Deadline {
  /** Aborts when the time is up or the caller aborts. */
  signal: AbortSignal;
  /** The error the abort means: `timeout` or `aborted`, naming the host being talked to. */
  errorFor(host: string): OutboundRequestError;
  dispose(): void;
}

/** A total deadline and the caller's signal as one signal. */
export function deadline(timeoutMs: number, callerSignal: AbortSignal | undefined): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort('timeout'), timeoutMs);
  const onCallerAbort = () => controller.abort('aborted');
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    errorFor(host: string): OutboundRequestError {
      return controller.signal.reason === 'timeout'
        ? new OutboundRequestError(
            'timeout',
            `No complete response from ${host} within ${timeoutMs} ms`,
            host,
          )
        : new OutboundRequestError('aborted', `The request to ${host} was cancelled`, host);
    },
    dispose() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

/** `work`, or a rejection with `error()` as soon as `signal` aborts. */
export function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal,
  error: () => OutboundRequestError,
): Promise<T> {
  if (signal.aborted) return Promise.reject(error());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
