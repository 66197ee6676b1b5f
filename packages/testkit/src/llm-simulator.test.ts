import { afterEach, describe, expect, it } from 'vitest';
import { constant } from './distributions.js';
import {
  splitIntoTokens,
  startLlmSimulator,
  type LlmSimulator,
  type LlmSimulatorOptions,
} from './llm-simulator.js';

let sim: LlmSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: LlmSimulatorOptions = {}): Promise<LlmSimulator> {
  sim = await startLlmSimulator({ firstTokenLatency: constant(0), tokensPerSecond: Infinity, ...options });
  return sim;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** The `data:` payloads of an SSE body (the simulator writes one `data:` line per event). */
function dataOf(sseBody: string): string[] {
  return sseBody
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}

const streamRequest = { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], stream: true };

describe('LLM simulator', () => {
  it('streams text and parallel tool calls in the OpenAI chunk format, ending with usage and [DONE]', async () => {
    const { url } = await start();
    sim!.script({
      text: 'Let me check.',
      toolCalls: [
        { id: 'call_a1', name: 'book_slot', arguments: '{"date":"2026-03-14"}' },
        { id: 'call_b2', name: 'lookup', arguments: '{}' },
      ],
      argumentFragmentChars: 8,
      usage: { promptTokens: 812, completionTokens: 41 },
    });
    const response = await post(url, { ...streamRequest, stream_options: { include_usage: true } });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = dataOf(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((text) => JSON.parse(text));
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: 'chatcmpl-sim-0', object: 'chat.completion.chunk', model: 'gpt-x' });
    }
    const deltas = chunks.filter((chunk) => chunk.choices.length > 0).map((chunk) => chunk.choices[0].delta);
    expect(deltas[0]).toEqual({ role: 'assistant', content: 'Let' });
    expect(deltas.map((delta) => delta.content ?? '').join('')).toBe('Let me check.');
    expect(deltas).toContainEqual({
      tool_calls: [
        { index: 0, id: 'call_a1', type: 'function', function: { name: 'book_slot', arguments: '' } },
      ],
    });
    expect(deltas).toContainEqual({ tool_calls: [{ index: 0, function: { arguments: '{"date":' } }] });
    expect(deltas).toContainEqual({
      tool_calls: [
        { index: 1, id: 'call_b2', type: 'function', function: { name: 'lookup', arguments: '' } },
      ],
    });
    expect(chunks.at(-2).choices[0]).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 812, completion_tokens: 41, total_tokens: 853 },
    });
    expect(sim!.requests[0]).toMatchObject({ completed: true, clientDisconnected: false, status: 200 });
  });

  it('opens a tool-call-only reply with role and null content, and sends usage only when asked', async () => {
    const { url } = await start({ replies: [{ toolCalls: [{ name: 'hang_up', arguments: '{}' }] }] });
    const data = dataOf(await (await post(url, streamRequest)).text());
    const first = JSON.parse(data[0]!);
    expect(first.choices[0].delta).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { index: 0, id: 'call_0_0', type: 'function', function: { name: 'hang_up', arguments: '' } },
      ],
    });
    expect(data.some((text) => text.includes('"usage"'))).toBe(false);
  });

  it('answers with one JSON completion when stream is false', async () => {
    const { url } = await start({ replies: [{ text: 'Hello there.' }] });
    const response = await post(url, { ...streamRequest, stream: false });
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.' }, finish_reason: 'stop' }],
      usage: { completion_tokens: 2 },
    });
  });

  it('checks the bearer key when one is configured', async () => {
    const { url } = await start({ apiKey: 'sk-sim', replies: [{ text: 'ok' }] });
    const refused = await post(url, streamRequest, { authorization: 'Bearer sk-other' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    const accepted = await post(url, streamRequest, { authorization: 'Bearer sk-sim' });
    expect(accepted.status).toBe(200);
    expect(sim!.requests.map((request) => request.headers.authorization)).toEqual([
      'Bearer sk-other',
      'Bearer sk-sim',
    ]);
  });

  it('uses the queue first, then the responder, and fails loudly with neither', async () => {
    const { url } = await start({ replies: [{ text: 'scripted' }] });
    const plain = { ...streamRequest, stream: false };
    const contentOf = async (response: Response) =>
      ((await response.json()) as any).choices[0].message.content;
    expect(await contentOf(await post(url, plain))).toBe('scripted');
    sim!.setResponder((body) => ({ text: `echo ${(body.messages?.[0] as { content: string }).content}` }));
    expect(await contentOf(await post(url, plain))).toBe('echo hi');
    sim!.setResponder(undefined);
    expect((await post(url, plain)).status).toBe(500);
  });

  it('answers scripted HTTP errors with their body', async () => {
    const { url } = await start({
      replies: [{ error: { status: 429, body: { error: { message: 'slow down' } } } }],
    });
    const response = await post(url, streamRequest);
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ error: { message: 'slow down' } });
  });

  it('waits the first-token latency and paces tokens, recording when the first one left', async () => {
    const { url } = await start({ firstTokenLatency: constant(20), tokensPerSecond: 200 });
    sim!.script({ text: 'a b c d e' });
    await (await post(url, streamRequest)).text();
    const record = sim!.requests[0]!;
    expect(record.firstTokenAt!).toBeGreaterThanOrEqual(18);
    expect(record.firstTokenSentAt! - record.receivedAt).toBe(record.firstTokenAt);
    expect(record.tokensSent).toBe(5);
    // Deadlines are absolute from the request: 20 ms to the first token, then 4 gaps of 5 ms.
    expect(record.completedAt! - record.receivedAt).toBeGreaterThanOrEqual(20 + 4 * 5 - 2);
  });

  it('draws the gap between tokens from a distribution when given one', async () => {
    const { url } = await start({ tokenInterval: constant(10) });
    sim!.script({ text: 'a b c' });
    await (await post(url, streamRequest)).text();
    const record = sim!.requests[0]!;
    expect(record.completedAt! - record.receivedAt).toBeGreaterThanOrEqual(2 * 10 - 2);
  });

  it('drops the socket mid-stream without counting it as a client cancel', async () => {
    const { url } = await start({ replies: [{ text: 'one two three four', dropAfterTokens: 2 }] });
    const response = await post(url, streamRequest);
    await expect(response.text()).rejects.toThrow();
    await sim!.requests[0]!.finished;
    expect(sim!.requests[0]).toMatchObject({ tokensSent: 2, completed: false, clientDisconnected: false });
  });

  it('observes a client that goes away while the reply hangs', async () => {
    const { url } = await start({ replies: [{ text: 'one two three', hangAfterTokens: 1 }] });
    const controller = new AbortController();
    const response = await post(url, streamRequest, {}, controller.signal);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"content":"one"');
    controller.abort();
    await sim!.requests[0]!.finished;
    const record = sim!.requests[0]!;
    expect(record.clientDisconnected).toBe(true);
    expect(record.disconnectedAt!).toBeGreaterThanOrEqual(record.firstTokenSentAt!);
  });

  it('sends a malformed chunk when asked', async () => {
    const { url } = await start({ replies: [{ text: 'one two', malformedAfterTokens: 1 }] });
    const data = dataOf(await (await post(url, streamRequest)).text());
    expect(data).toHaveLength(2);
    expect(() => JSON.parse(data[1]!)).toThrow(SyntaxError);
  });

  it('splits text into tokens that rejoin exactly', () => {
    for (const text of ['', ' ', 'Hello, world!', '  two  spaces\nand a newline  ', 'café ☕ 👋🏽']) {
      expect(splitIntoTokens(text).join('')).toBe(text);
    }
    expect(splitIntoTokens('Hello, my friend')).toEqual(['Hello,', ' my', ' friend']);
  });
});
