// The behaviour every LlmProvider must show against an OpenAI-compatible server, as vitest tests. An
// adapter's test file calls describeLlmConformance with a factory that points the adapter at the
// simulator; the suite scripts the simulator and checks what a caller of `chat()` would notice.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ManualClock,
  ProviderError,
  systemClock,
  type ChatMessage,
  type ChatRequest,
  type Clock,
  type LlmEvent,
  type LlmProvider,
  type ProviderErrorCategory,
  type ToolDefinition,
} from '@parley/voice';
import { constant } from '../distributions.js';
import { startLlmSimulator, type LlmSimulator } from '../llm-simulator.js';

export interface LlmConformanceProviderOptions {
  /** Pass on to the adapter's first-token deadline. */
  firstTokenTimeoutMs: number;
  /** The adapter must run its first-token deadline on this clock (a ManualClock in the timeout test). */
  clock: Clock;
}

/** Builds the adapter under test, pointed at `sim.url` with `sim.apiKey`. */
export type LlmProviderFactory = (sim: LlmSimulator, options: LlmConformanceProviderOptions) => LlmProvider;

const TOOLS: ToolDefinition[] = [
  {
    name: 'book_slot',
    description: 'Books an appointment slot.',
    parameters: { type: 'object', properties: { date: { type: 'string' }, time: { type: 'string' } } },
  },
  {
    name: 'lookup_customer',
    description: 'Finds a customer by phone number.',
    parameters: { type: 'object', properties: { phone: { type: 'string' } } },
  },
];

async function collect(stream: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const events: LlmEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Consumes the stream, expecting it to fail; returns the events seen before and the error. */
async function failureOf(
  stream: AsyncIterable<LlmEvent>,
): Promise<{ events: LlmEvent[]; error: ProviderError }> {
  const events: LlmEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return { events, error: error as ProviderError };
  }
  throw new Error(`expected the stream to fail, it ended normally after ${events.length} events`);
}

function textOf(events: readonly LlmEvent[]): string {
  return events.map((event) => (event.type === 'text' ? event.text : '')).join('');
}

function expectCategory(error: ProviderError, category: ProviderErrorCategory, retryable: boolean): void {
  expect({ category: error.category, retryable: error.retryable }).toEqual({ category, retryable });
}

export function describeLlmConformance(name: string, makeProvider: LlmProviderFactory): void {
  describe(`${name}: LLM conformance`, () => {
    let sim: LlmSimulator;
    const apiKey = 'sk-conformance-0123456789abcdef';

    beforeEach(async () => {
      sim = await startLlmSimulator({ apiKey, firstTokenLatency: constant(0), tokensPerSecond: Infinity });
    });
    afterEach(async () => {
      await sim.close();
    });

    const provider = (options: Partial<LlmConformanceProviderOptions> = {}): LlmProvider =>
      makeProvider(sim, { firstTokenTimeoutMs: 5_000, clock: systemClock, ...options });
    const request = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
      messages: [
        { role: 'system', content: 'You are the receptionist of a dental practice.' },
        { role: 'user', content: 'Can I come in tomorrow morning?' },
      ],
      signal: new AbortController().signal,
      ...overrides,
    });

    it('streams text that reassembles exactly, then reports how it finished', async () => {
      const text = 'Of course! We have 9:30 or 11:00 tomorrow.\n  Which suits you — café ☕ included? ';
      sim.script({ text });
      const llm = provider();
      const events = await collect(llm.chat(request()));

      expect(textOf(events)).toBe(text);
      expect(events.filter((event) => event.type === 'text').length).toBeGreaterThan(1);
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      expect(events.filter((event) => event.type === 'done')).toHaveLength(1);

      const sent = sim.requests[0]!;
      expect(sent.headers.authorization).toBe(`Bearer ${apiKey}`);
      expect(sent.body).toMatchObject({
        model: llm.model,
        stream: true,
        messages: [
          { role: 'system', content: 'You are the receptionist of a dental practice.' },
          { role: 'user', content: 'Can I come in tomorrow morning?' },
        ],
      });
    });

    it('assembles parallel tool calls from fragmented, interleaved arguments', async () => {
      const booking = '{"date":"2026-03-14","time":"09:30","note":"first visit, \\"urgent\\""}';
      const lookup = '{"phone":"+44 20 7946 0000"}';
      sim.script({
        toolCalls: [
          { id: 'call_a1', name: 'book_slot', arguments: booking },
          { id: 'call_b2', name: 'lookup_customer', arguments: lookup },
        ],
        argumentFragmentChars: 3,
        interleaveToolCalls: true,
      });
      const events = await collect(provider().chat(request({ tools: TOOLS })));

      expect(events.filter((event) => event.type !== 'done')).toEqual([
        { type: 'tool_call', call: { id: 'call_a1', name: 'book_slot', arguments: booking } },
        { type: 'tool_call', call: { id: 'call_b2', name: 'lookup_customer', arguments: lookup } },
      ]);
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'tool_calls' });

      const body = sim.requests[0]!.body;
      expect(body.tools).toEqual(TOOLS.map((tool) => ({ type: 'function', function: tool })));
      expect(body.parallel_tool_calls).toBe(true);
    });

    it('sends assistant tool calls and tool results in the wire shape', async () => {
      sim.script({ text: 'Booked.' });
      const messages: ChatMessage[] = [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Book 9:30 and check my account.' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'call_a1', name: 'book_slot', arguments: '{"time":"09:30"}' },
            { id: 'call_b2', name: 'lookup_customer', arguments: '{"phone":"+1"}' },
          ],
        },
        { role: 'tool', toolCallId: 'call_a1', content: '{"ok":true}' },
        { role: 'tool', toolCallId: 'call_b2', content: '{"name":"Ada"}' },
        { role: 'assistant', content: 'Done, Ada.' },
        { role: 'user', content: 'Thanks.' },
      ];
      await collect(provider().chat(request({ messages, tools: TOOLS })));

      expect(sim.requests[0]!.body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Book 9:30 and check my account.' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_a1',
              type: 'function',
              function: { name: 'book_slot', arguments: '{"time":"09:30"}' },
            },
            {
              id: 'call_b2',
              type: 'function',
              function: { name: 'lookup_customer', arguments: '{"phone":"+1"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a1', content: '{"ok":true}' },
        { role: 'tool', tool_call_id: 'call_b2', content: '{"name":"Ada"}' },
        { role: 'assistant', content: 'Done, Ada.' },
        { role: 'user', content: 'Thanks.' },
      ]);
    });

    it('reports token usage', async () => {
      sim.script({ text: 'Hello.', usage: { promptTokens: 812, completionTokens: 41 } });
      const events = await collect(provider().chat(request()));
      expect(sim.requests[0]!.body.stream_options).toEqual({ include_usage: true });
      expect(events.at(-1)).toEqual({
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: 812, completionTokens: 41 },
      });
    });

    it.each([
      { status: 401, category: 'auth', retryable: false },
      { status: 429, category: 'rate_limit', retryable: true },
      { status: 500, category: 'server', retryable: true },
    ] as const)(
      'maps HTTP $status to $category (retryable: $retryable)',
      async ({ status, category, retryable }) => {
        // Vendors echo the key in 401 bodies; it must not reach our error message.
        sim.script({
          error: { status, body: { error: { message: `Incorrect API key provided: ${apiKey}`, type: 'x' } } },
        });
        const { events, error } = await failureOf(provider().chat(request()));
        expect(events).toEqual([]);
        expectCategory(error, category, retryable);
        expect(error.status).toBe(status);
        expect(error.message).not.toContain(apiKey);
      },
    );

    it('fails as a retryable network error when the socket drops mid-stream, after the text so far', async () => {
      sim.script({ text: 'one two three four five six', dropAfterTokens: 3 });
      const { events, error } = await failureOf(provider().chat(request()));
      expect(textOf(events)).toBe('one two three');
      expect(events.some((event) => event.type === 'done')).toBe(false);
      expectCategory(error, 'network', true);
    });

    it('fails as a retryable network error when the stream ends without finishing', async () => {
      const chunk = {
        id: 'c',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: 'Hi' } }],
      };
      sim.script({ rawSse: [`data: ${JSON.stringify(chunk)}\n\n`] });
      const { events, error } = await failureOf(provider().chat(request()));
      expect(textOf(events)).toBe('Hi');
      expectCategory(error, 'network', true);
    });

    it('times out (retryable) when no token arrives within the first-token deadline', async () => {
      const clock = new ManualClock();
      sim.script({ text: 'too late', hangAfterTokens: 0 });
      let settled = false;
      const outcome = failureOf(provider({ firstTokenTimeoutMs: 2_000, clock }).chat(request())).finally(
        () => {
          settled = true;
        },
      );
      await sim.waitForRequest(0);
      await clock.advance(1_999);
      expect(settled).toBe(false);
      await clock.advance(1);
      const { error } = await outcome;
      expectCategory(error, 'timeout', true);
      await sim.requests[0]!.finished;
      expect(sim.requests[0]!.clientDisconnected).toBe(true);
    });

    it('stops quietly when aborted mid-stream and closes the connection', async () => {
      sim.script({ text: 'one two three four', hangAfterTokens: 2 });
      const controller = new AbortController();
      const events: LlmEvent[] = [];
      for await (const event of provider().chat(request({ signal: controller.signal }))) {
        events.push(event);
        controller.abort();
      }
      expect(events).toEqual([{ type: 'text', text: 'one' }]);
      await sim.requests[0]!.finished;
      expect(sim.requests[0]!.clientDisconnected).toBe(true);
    });

    it('stops quietly when aborted before the first token and closes the connection', async () => {
      sim.script({ text: 'never heard', hangAfterTokens: 0 });
      const controller = new AbortController();
      const done = collect(provider().chat(request({ signal: controller.signal })));
      await sim.waitForRequest(0);
      controller.abort();
      expect(await done).toEqual([]);
      await sim.requests[0]!.finished;
      expect(sim.requests[0]!.clientDisconnected).toBe(true);
    });

    it('sends nothing for a request that is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      expect(await collect(provider().chat(request({ signal: controller.signal })))).toEqual([]);
      expect(sim.requests).toHaveLength(0);
    });

    it('fails with a protocol error on a malformed chunk', async () => {
      sim.script({ text: 'one two three', malformedAfterTokens: 1 });
      const { events, error } = await failureOf(provider().chat(request()));
      expect(textOf(events)).toBe('one');
      expectCategory(error, 'protocol', false);
    });
  });
}
