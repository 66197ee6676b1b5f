import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError, type ChatRequest, type LlmEvent } from '@parley/voice';
import { constant, startLlmSimulator, type LlmSimulator } from '@parley/testkit';
import { describeLlmConformance } from '@parley/testkit/conformance';
import { OpenAiCompatibleChat } from './chat.js';

describeLlmConformance(
  'OpenAiCompatibleChat',
  (sim, options) =>
    new OpenAiCompatibleChat({ baseUrl: sim.url, apiKey: sim.apiKey, model: 'gpt-sim', ...options }),
);

async function collect(stream: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const events: LlmEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

async function failureOf(stream: AsyncIterable<LlmEvent>): Promise<ProviderError> {
  try {
    await collect(stream);
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected the stream to fail');
}

const request = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  messages: [{ role: 'user', content: 'Hi' }],
  signal: new AbortController().signal,
  ...overrides,
});

const chunk = (choice: Record<string, unknown>): string =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, ...choice }] })}`;

describe('OpenAiCompatibleChat specifics', () => {
  let sim: LlmSimulator;
  beforeEach(async () => {
    sim = await startLlmSimulator({
      apiKey: 'sk-right-key-123456',
      firstTokenLatency: constant(0),
      tokensPerSecond: Infinity,
    });
  });
  afterEach(async () => {
    await sim.close();
  });
  const adapter = (options: { apiKey?: string; baseUrl?: string; headers?: Record<string, string> } = {}) =>
    new OpenAiCompatibleChat({
      id: 'groq',
      baseUrl: sim.url,
      apiKey: sim.apiKey,
      model: 'llama-sim',
      ...options,
    });

  it('refuses a wrong key as auth without repeating the key', async () => {
    const error = await failureOf(adapter({ apiKey: 'sk-wrong-key-abcdef' }).chat(request()));
    expect(error).toMatchObject({ category: 'auth', retryable: false, status: 401, provider: 'groq' });
    expect(error.message).not.toContain('sk-wrong-key-abcdef');
    expect(error.message).toContain('Incorrect API key');
  });

  it('sends custom headers, options and tolerates a trailing slash in the base URL', async () => {
    sim.script({ text: 'ok' });
    await collect(
      adapter({ baseUrl: `${sim.url}/`, headers: { 'HTTP-Referer': 'https://parley.example' } }).chat(
        request({ temperature: 0.2, maxTokens: 120 }),
      ),
    );
    const sent = sim.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers['http-referer']).toBe('https://parley.example');
    expect(sent.body).toMatchObject({ model: 'llama-sim', temperature: 0.2, max_tokens: 120 });
    expect(sent.body.tools).toBeUndefined();
    expect(sent.body.parallel_tool_calls).toBeUndefined();
  });

  it('reads pings, CRLF line ends and a stream that closes after finish_reason without [DONE]', async () => {
    sim.script({
      rawSse: [
        ': OPENROUTER PROCESSING\r\n\r\n',
        `${chunk({ delta: { role: 'assistant', content: 'Hel' } })}\r\n\r\n`,
        `${chunk({ delta: { content: 'lo' } })}\r\n\r\n: ping\r\n\r\n`,
        `${chunk({ delta: {}, finish_reason: 'length' })}\r\n\r\n`,
      ],
    });
    expect(await collect(adapter().chat(request()))).toEqual([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'done', finishReason: 'length' },
    ]);
  });

  it('keeps a whole answer whose connection drops after finish_reason (only usage is lost)', async () => {
    const pieces = [
      `${chunk({ delta: { content: 'Bye.' } })}\n\n`,
      `${chunk({ delta: {}, finish_reason: 'stop' })}\n\n`,
    ];
    sim.script({ rawSse: pieces, dropAfterTokens: pieces.length });
    expect(await collect(adapter().chat(request()))).toEqual([
      { type: 'text', text: 'Bye.' },
      { type: 'done', finishReason: 'stop' },
    ]);
  });

  it('reports tool calls as tool_calls when the server says stop, and fills in a missing id', async () => {
    sim.script({
      rawSse: [
        `${chunk({ delta: { tool_calls: [{ index: 0, function: { name: 'hang_up', arguments: '{}' } }] } })}\n\n`,
        `${chunk({ delta: {}, finish_reason: 'stop' })}\n\ndata: [DONE]\n\n`,
      ],
    });
    expect(await collect(adapter().chat(request()))).toEqual([
      { type: 'tool_call', call: { id: 'call_0', name: 'hang_up', arguments: '{}' } },
      { type: 'done', finishReason: 'tool_calls' },
    ]);
  });

  it('turns an error object inside the stream into a retryable server error', async () => {
    sim.script({
      rawSse: [`data: ${JSON.stringify({ error: { message: 'upstream overloaded', code: 502 } })}\n\n`],
    });
    const error = await failureOf(adapter().chat(request()));
    expect(error).toMatchObject({ category: 'server', retryable: true, status: 502 });
  });

  it('maps 400 to a non-retryable bad_request carrying the vendor message', async () => {
    sim.script({
      error: {
        status: 400,
        body: { error: { message: "The model 'nope' does not exist", type: 'invalid_request_error' } },
      },
    });
    const error = await failureOf(adapter().chat(request()));
    expect(error).toMatchObject({ category: 'bad_request', retryable: false, status: 400 });
    expect(error.message).toContain("The model 'nope' does not exist");
  });

  it('closes the HTTP request when the consumer stops iterating early', async () => {
    sim.script({ text: 'one two three', hangAfterTokens: 1 });
    for await (const event of adapter().chat(request())) {
      expect(event).toEqual({ type: 'text', text: 'one' });
      break;
    }
    await sim.requests[0]!.finished;
    expect(sim.requests[0]!.clientDisconnected).toBe(true);
  });

  it('does not report a completed stream as a disconnect', async () => {
    sim.script({ text: 'all of it' });
    await collect(adapter().chat(request()));
    await sim.requests[0]!.finished;
    expect(sim.requests[0]!).toMatchObject({ completed: true, clientDisconnected: false });
  });
});

describe('OpenAiCompatibleChat without a server', () => {
  it('fails as a retryable network error when the connection is refused', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const llm = new OpenAiCompatibleChat({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: 'sk-x',
      model: 'm',
    });
    const error = await failureOf(llm.chat(request()));
    expect(error).toMatchObject({ category: 'network', retryable: true, provider: 'openai' });
    expect(error.message).not.toContain('sk-x');
  });
});
