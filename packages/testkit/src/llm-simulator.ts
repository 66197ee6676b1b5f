// An OpenAI-compatible chat-completions server (wire-protocols.md §5.2) for adapter tests and the bench.
// Replies are scripted; timing comes from seeded distributions; every request is recorded with the
// moment its first token left the server and whether the client went away, so latency and
// cancellation are measured here, at the "vendor", not inside the code under test.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constant, lognormalFromPercentiles, seededRandom, type Distribution } from './distributions.js';

export interface SimToolCall {
  /** Defaults to `call_<request>_<index>`. */
  id?: string;
  name: string;
  /** JSON text; streamed in fragments. */
  arguments: string;
}

export interface LlmSimReply {
  /** Assistant text, streamed word by word (each word with its leading whitespace). */
  text?: string;
  /** Explicit token split of the text (overrides the word split of `text`). */
  tokens?: readonly string[];
  /** Tool calls, each streamed as id/name first, then argument fragments. */
  toolCalls?: readonly SimToolCall[];
  /** Characters per argument fragment (default 6). */
  argumentFragmentChars?: number;
  /** Streams the fragments of parallel tool calls round-robin instead of one call after another. */
  interleaveToolCalls?: boolean;
  /** Default: `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  /** Reported usage (default: estimated); `null` sends no usage chunk even when asked. */
  usage?: { promptTokens: number; completionTokens: number } | null;
  /** Answer with this HTTP status and body (default: an OpenAI-style error object) instead. */
  error?: { status: number; body?: unknown };
  /** Destroy the socket after this many tokens (0: right after the headers). */
  dropAfterTokens?: number;
  /** Stop sending after this many tokens and keep the connection open until the client leaves. */
  hangAfterTokens?: number;
  /** Send a chunk that is not valid JSON after this many tokens. */
  malformedAfterTokens?: number;
  /** Extra wait before the first token (headers are sent at once). */
  stallMs?: number;
  /** End the stream after the finish (and usage) chunk without `data: [DONE]`. */
  omitDone?: boolean;
  /** Send these body pieces verbatim (each one write) instead of generating the stream. */
  rawSse?: readonly string[];
}

/** The request body as sent on the wire (loosely typed: tests assert its shape). */
export interface WireChatRequest {
  model?: string;
  messages?: unknown[];
  tools?: unknown[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  parallel_tool_calls?: boolean;
  [key: string]: unknown;
}

export interface RecordedLlmRequest {
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: WireChatRequest;
  /** performance.now() when the request body had been read. */
  receivedAt: number;
  /** HTTP status answered (0 until the head is written). */
  status: number;
  /** performance.now() when the first token was written. */
  firstTokenSentAt?: number;
  /** firstTokenSentAt - receivedAt, in milliseconds. */
  firstTokenAt?: number;
  tokensSent: number;
  /** The whole reply was written. */
  completed: boolean;
  /** performance.now() when it was. */
  completedAt?: number;
  /** The client closed the connection before the reply was complete (a cancel). */
  clientDisconnected: boolean;
  /** performance.now() when that disconnect was observed. */
  disconnectedAt?: number;
  /** Settles when the exchange is over, however it ended. */
  finished: Promise<void>;
}

export type LlmResponder = (
  body: WireChatRequest,
  request: RecordedLlmRequest,
) => LlmSimReply | Promise<LlmSimReply>;

export interface LlmSimulatorOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /** Replies used in order, before the responder. */
  replies?: readonly LlmSimReply[];
  responder?: LlmResponder;
  /** Delay before the first token (default: log-normal, p50 250 ms, p99 600 ms). */
  firstTokenLatency?: Distribution;
  /** Token rate after the first one (default 60; Infinity sends everything at once). */
  tokensPerSecond?: number;
  /** Milliseconds between tokens, drawn per token (overrides tokensPerSecond). */
  tokenInterval?: Distribution;
  /** Model name echoed when the request names none. */
  model?: string;
  /** Seed of the default latency distribution. */
  seed?: number;
}

export interface LlmSimulator {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly requests: readonly RecordedLlmRequest[];
  /** Appends replies to the queue. */
  script(...replies: LlmSimReply[]): void;
  /** Answers requests once the queue is empty. */
  setResponder(responder: LlmResponder | undefined): void;
  /** Resolves once request number `index` (0-based) has arrived. */
  waitForRequest(index: number): Promise<RecordedLlmRequest>;
  close(): Promise<void>;
}

const CHAT_PATH = '/v1/chat/completions';

export async function startLlmSimulator(options: LlmSimulatorOptions = {}): Promise<LlmSimulator> {
  const queue: LlmSimReply[] = [...(options.replies ?? [])];
  let responder = options.responder;
  const requests: RecordedLlmRequest[] = [];
  const waiters: { index: number; resolve: (request: RecordedLlmRequest) => void }[] = [];
  const firstTokenLatency =
    options.firstTokenLatency ?? lognormalFromPercentiles(250, 600, seededRandom(options.seed ?? 1));
  const tokensPerSecond = options.tokensPerSecond ?? 60;
  const tokenInterval =
    options.tokenInterval ??
    constant(tokensPerSecond === Infinity || tokensPerSecond <= 0 ? 0 : 1000 / tokensPerSecond);
  let closing = false;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method !== 'POST' || path !== CHAT_PATH) {
      sendJson(res, 404, openAiError(`Unknown request URL: ${req.method} ${path}`, 'invalid_request_error'));
      return;
    }
    let body: WireChatRequest;
    try {
      body = JSON.parse(raw) as WireChatRequest;
    } catch {
      sendJson(
        res,
        400,
        openAiError('We could not parse the JSON body of your request.', 'invalid_request_error'),
      );
      return;
    }

    let settle!: () => void;
    const record: RecordedLlmRequest = {
      index: requests.length,
      method: req.method,
      path,
      headers: req.headers,
      body,
      receivedAt: performance.now(),
      status: 0,
      tokensSent: 0,
      completed: false,
      clientDisconnected: false,
      finished: new Promise<void>((resolve) => (settle = resolve)),
    };
    requests.push(record);
    for (const waiter of waiters.filter((w) => w.index === record.index)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(record);
    }

    const timers = new Set<NodeJS.Timeout>();
    let droppedByServer = false;
    res.on('close', () => {
      for (const timer of timers) clearTimeout(timer);
      if (!record.completed && !droppedByServer && !closing) {
        record.clientDisconnected = true;
        record.disconnectedAt = performance.now();
      }
      settle();
    });
    const after = (delayMs: number, fn: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, delayMs);
      timers.add(timer);
    };
    const markToken = (): void => {
      if (record.firstTokenSentAt === undefined) {
        record.firstTokenSentAt = performance.now();
        record.firstTokenAt = record.firstTokenSentAt - record.receivedAt;
      }
      record.tokensSent++;
    };
    const drop = (): void => {
      droppedByServer = true;
      res.socket?.destroy();
    };

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      record.status = 401;
      sendJson(
        res,
        401,
        openAiError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'),
      );
      record.completed = true;
      record.completedAt = performance.now();
      return;
    }

    const reply = queue.shift() ?? (responder ? await responder(body, record) : undefined);
    if (!reply) {
      record.status = 500;
      sendJson(res, 500, openAiError('llm simulator: no reply scripted for this request', 'server_error'));
      record.completed = true;
      record.completedAt = performance.now();
      return;
    }
    if (reply.error) {
      record.status = reply.error.status;
      const errorBody =
        reply.error.body ?? openAiError(`simulated error ${reply.error.status}`, 'server_error');
      if (typeof errorBody === 'string') {
        res.writeHead(reply.error.status, { 'content-type': 'text/plain' }).end(errorBody);
      } else {
        sendJson(res, reply.error.status, errorBody);
      }
      record.completed = true;
      record.completedAt = performance.now();
      return;
    }

    const firstDelayMs = Math.max(0, (reply.stallMs ?? 0) + firstTokenLatency.sample());
    const model = body.model ?? options.model ?? 'sim-model';
    const completionId = `chatcmpl-sim-${record.index}`;

    if (body.stream !== true) {
      after(firstDelayMs, () => {
        if (reply.dropAfterTokens !== undefined) return drop();
        if (reply.hangAfterTokens !== undefined) return;
        markToken();
        record.status = 200;
        sendJson(res, 200, completionJson(completionId, model, body, reply, record.index));
        record.completed = true;
        record.completedAt = performance.now();
      });
      return;
    }

    record.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();

    const plan = reply.rawSse
      ? { tokens: [...reply.rawSse], tail: [] }
      : streamPlan(completionId, model, body, reply, record.index);
    const stopAt = Math.min(
      reply.dropAfterTokens ?? Infinity,
      reply.hangAfterTokens ?? Infinity,
      reply.malformedAfterTokens ?? Infinity,
    );
    const startMs = performance.now();
    let next = 0;
    let dueOffsetMs = firstDelayMs;

    const finishStream = (): void => {
      if (reply.malformedAfterTokens !== undefined && next === reply.malformedAfterTokens) {
        record.completed = true;
        record.completedAt = performance.now();
        res.end(`data: {"id":"${completionId}","object":"chat.completion.chunk","choices":[{"delta":\n\n`);
        return;
      }
      if (reply.dropAfterTokens !== undefined && next === reply.dropAfterTokens) {
        // Destroy only once what was written has reached the kernel, so the client sees those tokens.
        res.write(': bye\n\n', drop);
        return;
      }
      if (reply.hangAfterTokens !== undefined && next === reply.hangAfterTokens) return;
      for (const frame of plan.tail) res.write(frame);
      // [DONE] and the end of the body go out in one write, and the reply counts as complete from
      // here: a client that stops reading after [DONE] has not cancelled anything.
      record.completed = true;
      record.completedAt = performance.now();
      res.end(reply.omitDone || reply.rawSse ? undefined : 'data: [DONE]\n\n');
    };

    // Absolute deadlines (first token at firstDelayMs, then one per interval) so timer lateness does
    // not accumulate; everything already due is written in one go.
    const pump = (): void => {
      if (res.destroyed) return;
      while (next < plan.tokens.length && next < stopAt) {
        const waitMs = startMs + dueOffsetMs - performance.now();
        if (waitMs > 0.5) return after(waitMs, pump);
        res.write(plan.tokens[next]!);
        markToken();
        next++;
        dueOffsetMs += Math.max(0, tokenInterval.sample());
      }
      finishStream();
    };
    if (firstDelayMs > 0) after(firstDelayMs, pump);
    else pump();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey: options.apiKey,
    requests,
    script(...replies) {
      queue.push(...replies);
    },
    setResponder(next) {
      responder = next;
    },
    waitForRequest(index) {
      const existing = requests[index];
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve) => waiters.push({ index, resolve }));
    },
    async close() {
      closing = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function openAiError(message: string, type: string, code: string | null = null): unknown {
  return { error: { message, type, param: null, code } };
}

/** Words with their leading whitespace; joining the pieces gives the text back exactly. */
export function splitIntoTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+/g) ?? [];
}

function textTokens(reply: LlmSimReply): string[] {
  if (reply.tokens) return [...reply.tokens];
  return reply.text === undefined ? [] : splitIntoTokens(reply.text);
}

function fragments(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

function toolCallId(call: SimToolCall, requestIndex: number, index: number): string {
  return call.id ?? `call_${requestIndex}_${index}`;
}

function finishReasonOf(reply: LlmSimReply): string {
  return reply.finishReason ?? (reply.toolCalls?.length ? 'tool_calls' : 'stop');
}

function usageOf(body: WireChatRequest, reply: LlmSimReply): Record<string, number> {
  const promptTokens = reply.usage?.promptTokens ?? Math.ceil(JSON.stringify(body.messages ?? []).length / 4);
  const completionTokens =
    reply.usage?.completionTokens ??
    textTokens(reply).length +
      (reply.toolCalls ?? []).reduce(
        (sum, call) => sum + Math.ceil((call.name.length + call.arguments.length) / 4),
        0,
      );
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function streamPlan(
  completionId: string,
  model: string,
  body: WireChatRequest,
  reply: LlmSimReply,
  requestIndex: number,
): { tokens: string[]; tail: string[] } {
  const created = Math.floor(Date.now() / 1000);
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
    `data: ${JSON.stringify({ id: completionId, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
  const deltaFrame = (delta: Record<string, unknown>): string =>
    frame([{ index: 0, delta, logprobs: null, finish_reason: null }]);

  const deltas: Record<string, unknown>[] = textTokens(reply).map((token) => ({ content: token }));

  const perCall = (reply.toolCalls ?? []).map((call, index) => [
    {
      tool_calls: [
        {
          index,
          id: toolCallId(call, requestIndex, index),
          type: 'function',
          function: { name: call.name, arguments: '' },
        },
      ],
    },
    ...fragments(call.arguments, reply.argumentFragmentChars ?? 6).map((piece) => ({
      tool_calls: [{ index, function: { arguments: piece } }],
    })),
  ]);
  if (reply.interleaveToolCalls) {
    const longest = Math.max(0, ...perCall.map((list) => list.length));
    for (let step = 0; step < longest; step++) {
      for (const list of perCall) if (list[step]) deltas.push(list[step]!);
    }
  } else {
    for (const list of perCall) deltas.push(...list);
  }

  // Like OpenAI, the first delta announces the role (and `content: null` when it opens a tool call).
  if (deltas[0])
    deltas[0] = {
      role: 'assistant',
      ...(deltas[0].content === undefined ? { content: null } : {}),
      ...deltas[0],
    };
  else deltas.push({ role: 'assistant', content: '' });

  const tail = [frame([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReasonOf(reply) }])];
  if (body.stream_options?.include_usage && reply.usage !== null) {
    tail.push(frame([], { usage: usageOf(body, reply) }));
  }
  return { tokens: deltas.map(deltaFrame), tail };
}

function completionJson(
  completionId: string,
  model: string,
  body: WireChatRequest,
  reply: LlmSimReply,
  requestIndex: number,
): unknown {
  const text = textTokens(reply).join('');
  const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
    id: toolCallId(call, requestIndex, index),
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  return {
    id: completionId,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReasonOf(reply),
      },
    ],
    ...(reply.usage === null ? {} : { usage: usageOf(body, reply) }),
  };
}
