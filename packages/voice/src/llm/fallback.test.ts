import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { ProviderError, providerErrorFromStatus } from '../providers/errors.js';
import type { ChatRequest, LlmEvent, LlmProvider } from '../providers/llm.js';
import { FallbackLlm, type LlmFallbackEvent } from './fallback.js';

interface FakeLlm extends LlmProvider {
  requests: ChatRequest[];
}

/** A provider whose stream is the given async generator. */
function fakeLlm(
  id: string,
  stream: (request: ChatRequest) => AsyncGenerator<LlmEvent>,
  tools = true,
): FakeLlm {
  const requests: ChatRequest[] = [];
  return {
    id,
    model: `${id}-model`,
    capabilities: { tools, parallelToolCalls: tools },
    requests,
    chat(request) {
      requests.push(request);
      return stream(request);
    },
  };
}

function answering(id: string, ...texts: string[]): FakeLlm {
  return fakeLlm(id, async function* () {
    for (const text of texts) yield { type: 'text', text };
    yield { type: 'done', finishReason: 'stop' };
  });
}

function failing(id: string, error: ProviderError): FakeLlm {
  return fakeLlm(id, async function* () {
    throw error;
  });
}

/** Never answers; ends (quietly) only when its request is aborted. */
function silent(id: string): FakeLlm {
  return fakeLlm(id, async function* (request) {
    await new Promise<void>((resolve) =>
      request.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  });
}

function request(signal = new AbortController().signal): ChatRequest {
  return {
    messages: [{ role: 'user', content: 'Hi' }],
    tools: [{ name: 't', description: 'a tool', parameters: { type: 'object' } }],
    signal,
  };
}

async function collect(stream: AsyncIterable<LlmEvent>): Promise<string> {
  let text = '';
  for await (const event of stream) if (event.type === 'text') text += event.text;
  return text;
}

describe('FallbackLlm', () => {
  it('uses the primary when it answers', async () => {
    const secondary = answering('b', 'from b');
    const llm = new FallbackLlm([answering('a', 'Hello ', 'there'), secondary], {
      clock: new ManualClock(),
    });
    expect(await collect(llm.chat(request()))).toBe('Hello there');
    expect(secondary.requests).toHaveLength(0);
    expect(llm.id).toBe('a');
  });

  it('moves to the secondary when the primary fails with a 500, and reports it', async () => {
    const fallbacks: LlmFallbackEvent[] = [];
    const primary = failing('a', providerErrorFromStatus('a', 500, 'boom'));
    const secondary = answering('b', 'Hello from b');
    const llm = new FallbackLlm([primary, secondary], {
      clock: new ManualClock(),
      onFallback: (e) => fallbacks.push(e),
    });
    expect(await collect(llm.chat(request()))).toBe('Hello from b');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]!.from).toBe('a/a-model');
    expect(fallbacks[0]!.to).toBe('b/b-model');
    expect(fallbacks[0]!.error.category).toBe('server');
  });

  it('falls back on a bad_request too (the next vendor may accept it)', async () => {
    const llm = new FallbackLlm(
      [failing('a', providerErrorFromStatus('a', 400, 'unknown model')), answering('b', 'ok')],
      {
        clock: new ManualClock(),
      },
    );
    expect(await collect(llm.chat(request()))).toBe('ok');
  });

  it('abandons a silent primary after the first-token timeout and aborts its request', async () => {
    const clock = new ManualClock();
    const fallbacks: LlmFallbackEvent[] = [];
    const primary = silent('a');
    const llm = new FallbackLlm([primary, answering('b', 'from b')], {
      clock,
      firstTokenTimeoutMs: 2000,
      onFallback: (e) => fallbacks.push(e),
    });
    const text = collect(llm.chat(request()));
    await clock.advance(1999);
    expect(primary.requests[0]!.signal.aborted).toBe(false);
    expect(fallbacks).toHaveLength(0);
    await clock.advance(1);
    expect(await text).toBe('from b');
    expect(primary.requests[0]!.signal.aborted).toBe(true);
    expect(fallbacks[0]!.error.category).toBe('timeout');
  });

  it('rethrows an error that comes after text was already yielded', async () => {
    const secondary = answering('b', 'from b');
    const primary = fakeLlm('a', async function* () {
      yield { type: 'text', text: 'Sure, ' };
      throw providerErrorFromStatus('a', 502, 'dropped');
    });
    const llm = new FallbackLlm([primary, secondary], { clock: new ManualClock() });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of llm.chat(request())) if (event.type === 'text') seen.push(event.text);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['Sure, ']);
    expect(error).toBeInstanceOf(ProviderError);
    expect(secondary.requests).toHaveLength(0);
  });

  it('throws the last error when every provider fails', async () => {
    const last = providerErrorFromStatus('c', 429, 'slow down');
    const llm = new FallbackLlm(
      [
        failing('a', providerErrorFromStatus('a', 500, 'x')),
        failing('b', providerErrorFromStatus('b', 401, 'y')),
        failing('c', last),
      ],
      {
        clock: new ManualClock(),
      },
    );
    await expect(collect(llm.chat(request()))).rejects.toBe(last);
  });

  it('wraps an unexpected error from a provider and still falls back', async () => {
    const fallbacks: LlmFallbackEvent[] = [];
    const broken = fakeLlm('a', async function* () {
      throw new TypeError('fetch failed');
    });
    const llm = new FallbackLlm([broken, answering('b', 'ok')], {
      clock: new ManualClock(),
      onFallback: (e) => fallbacks.push(e),
    });
    expect(await collect(llm.chat(request()))).toBe('ok');
    expect(fallbacks[0]!.error).toBeInstanceOf(ProviderError);
  });

  it('stops quietly when the caller aborts, aborting the provider request', async () => {
    const clock = new ManualClock();
    const primary = silent('a');
    const secondary = answering('b', 'never');
    const turn = new AbortController();
    const llm = new FallbackLlm([primary, secondary], { clock });
    const text = collect(llm.chat(request(turn.signal)));
    await clock.advance(100);
    turn.abort();
    expect(await text).toBe('');
    expect(primary.requests[0]!.signal.aborted).toBe(true);
    await clock.advance(10_000);
    expect(secondary.requests).toHaveLength(0);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('stops quietly on abort mid-stream even if the provider ignores its signal', async () => {
    const turn = new AbortController();
    const stuck = fakeLlm('a', async function* () {
      yield { type: 'text', text: 'Hello' };
      await new Promise(() => {});
    });
    const llm = new FallbackLlm([stuck, answering('b', 'never')], { clock: new ManualClock() });
    const seen: string[] = [];
    for await (const event of llm.chat(request(turn.signal))) {
      if (event.type === 'text') seen.push(event.text);
      turn.abort();
    }
    expect(seen).toEqual(['Hello']);
  });

  it('leaves tools out of the request for a fallback that cannot use them', async () => {
    const answer = answering('b', 'ok');
    const secondary = fakeLlm('b', (r) => answer.chat(r) as AsyncGenerator<LlmEvent>, false);
    const llm = new FallbackLlm([failing('a', providerErrorFromStatus('a', 503, 'x')), secondary], {
      clock: new ManualClock(),
    });
    await collect(llm.chat(request()));
    expect(secondary.requests[0]!.tools).toBeUndefined();
    expect(secondary.requests[0]!.messages).toEqual([{ role: 'user', content: 'Hi' }]);
  });
});
