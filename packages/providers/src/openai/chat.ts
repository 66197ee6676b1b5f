// OpenAI-compatible chat completions (wire-protocols.md §5.2) over fetch + a tiny SSE parser. The same
// wire format is served by OpenAI, Groq, OpenRouter, Together, vLLM and Ollama, so one adapter covers
// them; each vendor's quirks that we know of are absorbed here and nowhere else.
import {
  ProviderError,
  providerErrorFromStatus,
  systemClock,
  type ChatMessage,
  type ChatRequest,
  type Clock,
  type LlmCapabilities,
  type LlmEvent,
  type LlmProvider,
  type LlmUsage,
  type TimerHandle,
  type ToolCall,
} from '@parley/voice';
import { SseParser } from './sse.js';

export interface OpenAiCompatibleChatOptions {
  /** Catalog id reported in errors (default `openai`). */
  id?: string;
  apiKey?: string;
  /** e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  baseUrl: string;
  model: string;
  /** Extra request headers (e.g. OpenRouter's `HTTP-Referer`). */
  headers?: Record<string, string>;
  /** Give up when no token arrived this long after sending the request (default 10000). */
  firstTokenTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Drives the first-token deadline (default: the system clock). */
  clock?: Clock;
}

type FinishReason = Extract<LlmEvent, { type: 'done' }>['finishReason'];

interface WireToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

interface WireChunk {
  choices?: {
    index?: number;
    delta?: { content?: string | null; tool_calls?: WireToolCallDelta[] };
    finish_reason?: string | null;
  }[];
  usage?: WireUsage | null;
  /** Groq reports streamed usage here. */
  x_groq?: { usage?: WireUsage };
  /** OpenRouter and others report failures inside the stream. */
  error?: { message?: string; code?: number | string };
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

const BODY_EXCERPT_CHARS = 300;

export class OpenAiCompatibleChat implements LlmProvider {
  readonly id: string;
  readonly model: string;
  readonly capabilities: LlmCapabilities = { tools: true, parallelToolCalls: true };
  private readonly apiKey: string | undefined;
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly firstTokenTimeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly clock: Clock;

  constructor(options: OpenAiCompatibleChatOptions) {
    this.id = options.id ?? 'openai';
    this.model = options.model;
    this.apiKey = options.apiKey;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.headers = options.headers ?? {};
    this.firstTokenTimeoutMs = options.firstTokenTimeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.clock = options.clock ?? systemClock;
  }

  chat(request: ChatRequest): AsyncIterable<LlmEvent> {
    return this.stream(request);
  }

  private async *stream(request: ChatRequest): AsyncGenerator<LlmEvent> {
    const { signal } = request;
    if (signal.aborted) return;

    // One controller cancels the HTTP exchange for every reason: caller abort, first-token deadline,
    // or the consumer leaving the loop early.
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    let firstTokenTimer: TimerHandle | undefined = this.clock.setTimer(this.firstTokenTimeoutMs, () => {
      timedOut = true;
      controller.abort();
    });
    const stopFirstTokenTimer = (): void => {
      firstTokenTimer?.cancel();
      firstTokenTimer = undefined;
    };
    const failure = (error: unknown, what: string): ProviderError => {
      if (error instanceof ProviderError) return error;
      if (timedOut) {
        return new ProviderError(`${this.id} sent no token within ${this.firstTokenTimeoutMs} ms`, {
          category: 'timeout',
          retryable: true,
          provider: this.id,
          cause: error,
        });
      }
      return new ProviderError(`${this.id} ${what}: ${errorText(error)}`, {
        category: 'network',
        retryable: true,
        provider: this.id,
        cause: error,
      });
    };

    let finished = false;
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(this.url, {
          method: 'POST',
          headers: this.requestHeaders(),
          body: JSON.stringify(this.requestBody(request)),
          signal: controller.signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        throw failure(error, 'request failed');
      }

      if (!response.ok) {
        const detail = await this.readErrorDetail(response).catch(() => '');
        if (signal.aborted) return;
        throw providerErrorFromStatus(this.id, response.status, detail || response.statusText);
      }
      if (!response.body) throw this.protocolError('the response has no body');

      const parser = new SseParser();
      const toolCalls = new Map<number, { id?: string; name?: string; arguments: string }>();
      let toolCallsEmitted = false;
      let finishReason: FinishReason | undefined;
      let usage: LlmUsage | undefined;
      let sawDone = false;
      const reader = response.body.getReader();

      const completedToolCalls = (): ToolCall[] => {
        toolCallsEmitted = true;
        return [...toolCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(([index, call]) => {
            if (!call.name) throw this.protocolError(`tool call #${index} has no function name`);
            return { id: call.id ?? `call_${index}`, name: call.name, arguments: call.arguments };
          });
      };

      try {
        streamLoop: for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (error) {
            if (signal.aborted) return;
            // After finish_reason the answer is whole; only the usage chunk and [DONE] were lost.
            if (finishReason !== undefined && !timedOut) break;
            throw failure(error, 'stream broke off');
          }
          const events = chunk.done ? parser.end() : parser.push(chunk.value);
          for (const event of events) {
            stopFirstTokenTimer();
            if (event.data === '[DONE]') {
              sawDone = true;
              break streamLoop;
            }
            const parsed = this.parseChunk(event.data);
            if (parsed.error) {
              throw new ProviderError(
                `${this.id} reported an error mid-stream: ${this.redact(parsed.error.message ?? '')}`,
                {
                  category: 'server',
                  retryable: true,
                  provider: this.id,
                  ...(typeof parsed.error.code === 'number' ? { status: parsed.error.code } : {}),
                },
              );
            }
            const wireUsage = parsed.usage ?? parsed.x_groq?.usage;
            if (wireUsage) {
              usage = {
                promptTokens: wireUsage.prompt_tokens ?? 0,
                completionTokens: wireUsage.completion_tokens ?? 0,
              };
            }
            const choice = parsed.choices?.[0];
            if (!choice) continue;
            const content = choice.delta?.content;
            if (typeof content === 'string' && content !== '') {
              yield { type: 'text', text: content };
              if (signal.aborted) return;
            }
            for (const [position, fragment] of (choice.delta?.tool_calls ?? []).entries()) {
              accumulate(toolCalls, fragment, position);
            }
            if (choice.finish_reason) {
              finishReason = mapFinishReason(choice.finish_reason);
              // The calls are complete now; hand them over without waiting for the usage chunk.
              if (!toolCallsEmitted) {
                for (const call of completedToolCalls()) {
                  yield { type: 'tool_call', call };
                  if (signal.aborted) return;
                }
              }
            }
          }
          if (chunk.done) break;
        }
      } finally {
        // Leaving early (error, abort, consumer break) must close the connection, not drain it; after
        // [DONE] cancelling only discards what little may follow.
        if (sawDone) void reader.cancel().catch(() => {});
        else controller.abort();
      }

      if (!sawDone && finishReason === undefined) {
        throw new ProviderError(`${this.id} stream ended before it was complete`, {
          category: 'network',
          retryable: true,
          provider: this.id,
        });
      }
      if (!toolCallsEmitted) {
        for (const call of completedToolCalls()) {
          yield { type: 'tool_call', call };
          if (signal.aborted) return;
        }
      }
      // Some servers (Ollama, a few vLLM versions) say `stop` even when they called tools.
      if (toolCalls.size > 0 && (finishReason === undefined || finishReason === 'stop'))
        finishReason = 'tool_calls';
      finished = true;
      yield { type: 'done', finishReason: finishReason ?? 'stop', ...(usage ? { usage } : {}) };
    } catch (error) {
      // The caller's abort is silent, whatever the fetch machinery threw on the way out (our own
      // first-token abort is not: it became a timeout error above).
      if (signal.aborted) return;
      throw failure(error, 'stream failed');
    } finally {
      stopFirstTokenTimer();
      signal.removeEventListener('abort', onAbort);
      if (!finished) controller.abort();
    }
  }

  private requestHeaders(): Record<string, string> {
    return {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...this.headers,
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
    };
  }

  private requestBody(request: ChatRequest): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: this.model,
      messages: request.messages.map(toWireMessage),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (request.tools && request.tools.length > 0) {
      body.tools = request.tools.map((tool) => ({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.parameters },
      }));
      body.parallel_tool_calls = true;
    }
    if (request.temperature !== undefined) body.temperature = request.temperature;
    // `max_tokens` is what every compatible server accepts (OpenAI's newer name is max_completion_tokens).
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    return body;
  }

  private parseChunk(data: string): WireChunk {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (error) {
      throw this.protocolError('sent a stream chunk that is not JSON', error);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw this.protocolError('sent a stream chunk that is not a JSON object');
    }
    return parsed as WireChunk;
  }

  /** A short, key-free excerpt of an error body, preferring the vendor's `error.message`. */
  private async readErrorDetail(response: Response): Promise<string> {
    const text = (await response.text()).trim();
    let detail = text;
    try {
      const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
      const message =
        typeof parsed.error === 'string'
          ? parsed.error
          : typeof parsed.error?.message === 'string'
            ? parsed.error.message
            : typeof parsed.message === 'string'
              ? parsed.message
              : undefined;
      if (message) detail = message;
    } catch {
      // Not JSON: keep the raw text.
    }
    detail = detail.replace(/\s+/g, ' ');
    if (detail.length > BODY_EXCERPT_CHARS) detail = `${detail.slice(0, BODY_EXCERPT_CHARS)}…`;
    return this.redact(detail);
  }

  /** Vendors sometimes echo the key back (or a prefix of it); it never leaves this adapter. */
  private redact(text: string): string {
    let out = text;
    if (this.apiKey) out = out.split(this.apiKey).join('[redacted]');
    return out.replace(/\b(sk|gsk|pk|rk)-[A-Za-z0-9_-]{8,}/g, '[redacted]');
  }

  private protocolError(what: string, cause?: unknown): ProviderError {
    return new ProviderError(`${this.id} ${what}`, {
      category: 'protocol',
      retryable: false,
      provider: this.id,
      cause,
    });
  }
}

function accumulate(
  calls: Map<number, { id?: string; name?: string; arguments: string }>,
  fragment: WireToolCallDelta,
  position: number,
): void {
  // `index` is mandatory in OpenAI's stream; servers that omit it send whole calls, one per position.
  const index = fragment.index ?? position;
  let call = calls.get(index);
  if (!call) {
    call = { arguments: '' };
    calls.set(index, call);
  }
  if (fragment.id) call.id = fragment.id;
  // The first fragment names the function; some servers repeat the name later, so never append it.
  if (fragment.function?.name && !call.name) call.name = fragment.function.name;
  if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
}

function mapFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return reason;
    case 'function_call':
      return 'tool_calls';
    default:
      return 'other';
  }
}

function toWireMessage(message: ChatMessage): Record<string, unknown> {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant': {
      const toolCalls = message.toolCalls ?? [];
      if (toolCalls.length === 0) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        // OpenAI wants null, not '', when the turn is only tool calls.
        content: message.content === '' ? null : message.content,
        tool_calls: toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici hides the useful part ("ECONNREFUSED", "other side closed") in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
