// Runs one round of the model's tool calls. Calls run in parallel (the caller is waiting), each with
// its own deadline; failures become results the model can talk about, never exceptions, so the
// conversation always gets one result per call. Only the caller's interruption ends the round early.
import type { Clock, TimerHandle } from '../clock.js';
import type { ToolCall } from '../providers/llm.js';
import type { ToolExecutor, ToolOutcome } from '../tools/executor.js';

/** Model requests per turn that may end in tool calls before the model must answer in words. */
export const MAX_TOOL_ROUNDS = 3;
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;
/** After this long the agent says a "one moment" line. */
export const DEFAULT_SLOW_TOOL_AFTER_MS = 1_500;

export interface ToolRunResult {
  call: ToolCall;
  outcome: ToolOutcome;
  /** From the start of the round to this call's outcome, on the injected clock. */
  durationMs: number;
}

export interface RunToolCallsOptions {
  calls: readonly ToolCall[];
  executor: ToolExecutor;
  /** Identifies the phone/web call to the tools (logs, idempotency). */
  callId: string;
  /** The turn's signal: barge-in or hang-up ends the round. */
  signal: AbortSignal;
  clock: Clock;
  /** Per tool call, unless the executor's policy for the tool gives its own. */
  timeoutMs?: number;
  /** `onSlow` fires once if any call is still running after this long (Infinity: never). */
  slowAfterMs?: number;
  /** The calls still running, in the order of `calls`. */
  onSlow?(running: readonly ToolCall[]): void;
  /** Each call's outcome as soon as it is known (in completion order). */
  onResult?(call: ToolCall, outcome: ToolOutcome, durationMs: number): void;
}

/**
 * Runs `calls` in parallel and resolves with one result per call, in the order of `calls`. A call
 * that outlives `timeoutMs` gets a `timeout` error outcome (and its signal aborted); an executor that
 * throws gets a `failed` one. When `signal` aborts, every execution's signal is aborted and the
 * promise rejects at once with an error named `AbortError` (outcomes that arrive later are dropped).
 */
export function runToolCalls(options: RunToolCallsOptions): Promise<ToolRunResult[]> {
  const { calls, executor, callId, signal, clock } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  // A per-tool timeout (the executor's policy) overrides it for that tool's calls.
  const slowAfterMs = options.slowAfterMs ?? DEFAULT_SLOW_TOOL_AFTER_MS;
  if (signal.aborted) return Promise.reject(abortError());
  if (calls.length === 0) return Promise.resolve([]);

  return new Promise<ToolRunResult[]>((resolve, reject) => {
    const startedAtMs = clock.now();
    const results: (ToolRunResult | undefined)[] = calls.map(() => undefined);
    const controllers = calls.map(() => new AbortController());
    const timers: TimerHandle[] = [];
    let remaining = calls.length;
    let finished = false;

    const cleanUp = () => {
      finished = true;
      for (const timer of timers) timer.cancel();
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      if (finished) return;
      cleanUp();
      for (const controller of controllers) controller.abort(signal.reason);
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const settle = (index: number, outcome: ToolOutcome) => {
      if (finished || results[index]) return;
      const call = calls[index]!;
      const durationMs = clock.now() - startedAtMs;
      results[index] = { call, outcome, durationMs };
      remaining--;
      options.onResult?.(call, outcome, durationMs);
      if (remaining === 0 && !finished) {
        cleanUp();
        resolve(results as ToolRunResult[]);
      }
    };

    if (options.onSlow && Number.isFinite(slowAfterMs)) {
      const onSlow = options.onSlow;
      timers.push(
        clock.setTimer(slowAfterMs, () => {
          if (!finished && remaining > 0) onSlow(calls.filter((_, index) => !results[index]));
        }),
      );
    }

    calls.forEach((call, index) => {
      const controller = controllers[index]!;
      const callTimeoutMs = executor.policy?.(call.name)?.timeoutMs ?? timeoutMs;
      if (Number.isFinite(callTimeoutMs)) {
        timers.push(
          clock.setTimer(callTimeoutMs, () => {
            if (finished || results[index]) return;
            settle(index, {
              status: 'error',
              code: 'timeout',
              content: JSON.stringify({
                error: `The tool did not answer within ${formatSeconds(callTimeoutMs)} s`,
              }),
            });
            controller.abort(timeoutError());
          }),
        );
      }
      // Through a promise so an executor that throws synchronously is caught like one that rejects.
      Promise.resolve()
        .then(() => executor.execute({ call, callId, signal: controller.signal }))
        .then(
          (outcome) => settle(index, outcome),
          // The error text may hold URLs, tokens or personal data: the model only learns it failed.
          () =>
            settle(index, {
              status: 'error',
              code: 'failed',
              content: JSON.stringify({ error: `The tool ${call.name} failed` }),
            }),
        );
    });
  });
}

export type ParsedToolArguments =
  | { ok: true; args: Record<string, unknown> }
  | { ok: false; outcome: Extract<ToolOutcome, { status: 'error' }> };

/**
 * Reads a call's JSON arguments. An empty string counts as `{}` (models send it for tools without
 * parameters); anything that is not a JSON object becomes an `invalid_arguments` outcome for the model.
 */
export function parseToolArguments(call: ToolCall): ParsedToolArguments {
  const text = call.arguments.trim();
  if (text === '') return { ok: true, args: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalidArguments(call, 'are not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalidArguments(call, 'must be a JSON object');
  }
  return { ok: true, args: value as Record<string, unknown> };
}

function invalidArguments(call: ToolCall, problem: string): ParsedToolArguments {
  return {
    ok: false,
    outcome: {
      status: 'error',
      code: 'invalid_arguments',
      content: JSON.stringify({
        error: `The arguments for ${call.name} ${problem}; call it again with a JSON object`,
      }),
    },
  };
}

function formatSeconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

function abortError(): Error {
  return new DOMException('The tool calls were interrupted', 'AbortError');
}

function timeoutError(): Error {
  return new DOMException('The tool did not answer in time', 'TimeoutError');
}
