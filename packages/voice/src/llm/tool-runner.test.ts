import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { isAbort } from '../providers/errors.js';
import type { ToolCall } from '../providers/llm.js';
import type { ToolExecutor, ToolInvocation, ToolOutcome } from '../tools/executor.js';
import { parseToolArguments, runToolCalls } from './tool-runner.js';

const call = (id: string, name = id): ToolCall => ({ id, name, arguments: '{}' });

/** An executor whose calls finish when the test says so. */
function controllableExecutor() {
  const running = new Map<
    string,
    { invocation: ToolInvocation; finish: (outcome: ToolOutcome) => void; fail: (e: unknown) => void }
  >();
  const executor: ToolExecutor = {
    definitions: () => [],
    execute: (invocation) =>
      new Promise<ToolOutcome>((finish, fail) =>
        running.set(invocation.call.id, { invocation, finish, fail }),
      ),
  };
  return { executor, running };
}

const ok = (content: string): ToolOutcome => ({ status: 'ok', content });

describe('runToolCalls', () => {
  it('runs calls in parallel and returns the outcomes in the order of the calls', async () => {
    const clock = new ManualClock();
    const { executor, running } = controllableExecutor();
    const seen: string[] = [];
    const done = runToolCalls({
      calls: [call('a'), call('b')],
      executor,
      callId: 'call-42',
      signal: new AbortController().signal,
      clock,
      onResult: (c) => seen.push(c.id),
    });
    await clock.advance(0);
    // Both started before either finished.
    expect([...running.keys()]).toEqual(['a', 'b']);
    expect(running.get('a')!.invocation.callId).toBe('call-42');
    await clock.advance(200);
    running.get('b')!.finish(ok('B'));
    await clock.advance(300);
    running.get('a')!.finish(ok('A'));
    const results = await done;
    expect(results.map((r) => [r.call.id, r.outcome.content, r.durationMs])).toEqual([
      ['a', 'A', 500],
      ['b', 'B', 200],
    ]);
    expect(seen).toEqual(['b', 'a']);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('gives a slow tool a timeout result the model can read and aborts its execution', async () => {
    const clock = new ManualClock();
    const { executor, running } = controllableExecutor();
    const done = runToolCalls({
      calls: [call('fast'), call('slow', 'lookup_order')],
      executor,
      callId: 'c',
      signal: new AbortController().signal,
      clock,
      timeoutMs: 10_000,
    });
    await clock.advance(0);
    running.get('fast')!.finish(ok('{"ok":true}'));
    await clock.advance(10_000);
    const results = await done;
    expect(results[1]!.outcome).toEqual({
      status: 'error',
      code: 'timeout',
      content: '{"error":"The tool did not answer within 10 s"}',
    });
    expect(results[1]!.durationMs).toBe(10_000);
    expect(running.get('slow')!.invocation.signal.aborted).toBe(true);
    expect(running.get('fast')!.invocation.signal.aborted).toBe(false);
    // A late answer changes nothing.
    running.get('slow')!.finish(ok('late'));
    expect((await done)[1]!.outcome.status).toBe('error');
  });

  it('turns a throwing tool into a "failed" result without leaking the error text', async () => {
    const clock = new ManualClock();
    const executor: ToolExecutor = {
      definitions: () => [],
      execute: () => {
        throw new Error('POST https://api.example.com/?token=sk-secret failed');
      },
    };
    const [result] = await runToolCalls({
      calls: [call('a', 'crm')],
      executor,
      callId: 'c',
      signal: new AbortController().signal,
      clock,
    });
    expect(result!.outcome).toEqual({
      status: 'error',
      code: 'failed',
      content: '{"error":"The tool crm failed"}',
    });
    expect(result!.outcome.content).not.toContain('secret');
  });

  it('says "one moment" once when a tool is still running after slowAfterMs', async () => {
    const clock = new ManualClock();
    const { executor, running } = controllableExecutor();
    let slow = 0;
    const done = runToolCalls({
      calls: [call('a'), call('b')],
      executor,
      callId: 'c',
      signal: new AbortController().signal,
      clock,
      slowAfterMs: 1500,
      onSlow: () => slow++,
    });
    await clock.advance(1499);
    expect(slow).toBe(0);
    await clock.advance(1);
    expect(slow).toBe(1);
    await clock.advance(5000);
    running.get('a')!.finish(ok('A'));
    running.get('b')!.finish(ok('B'));
    await done;
    expect(slow).toBe(1);
  });

  it('tells onSlow which calls are still running', async () => {
    const clock = new ManualClock();
    const { executor, running } = controllableExecutor();
    const slow: string[][] = [];
    const done = runToolCalls({
      calls: [call('a'), call('b')],
      executor,
      callId: 'c',
      signal: new AbortController().signal,
      clock,
      slowAfterMs: 1500,
      onSlow: (calls) => slow.push(calls.map((c) => c.id)),
    });
    await clock.advance(100);
    running.get('a')!.finish(ok('A'));
    await clock.advance(1400);
    expect(slow).toEqual([['b']]);
    running.get('b')!.finish(ok('B'));
    await done;
  });

  it("gives each tool the executor's own timeout where it has one", async () => {
    const clock = new ManualClock();
    const { executor, running } = controllableExecutor();
    executor.policy = (name) => (name === 'quick' ? { timeoutMs: 2000 } : undefined);
    const done = runToolCalls({
      calls: [call('q', 'quick'), call('s', 'standard')],
      executor,
      callId: 'c',
      signal: new AbortController().signal,
      clock,
      timeoutMs: 10_000,
    });
    await clock.advance(2000);
    expect(running.get('q')!.invocation.signal.aborted).toBe(true);
    expect(running.get('s')!.invocation.signal.aborted).toBe(false);
    await clock.advance(8000);
    const results = await done;
    expect(results.map((r) => [r.call.id, r.durationMs, r.outcome.content])).toEqual([
      ['q', 2000, '{"error":"The tool did not answer within 2 s"}'],
      ['s', 10_000, '{"error":"The tool did not answer within 10 s"}'],
    ]);
  });

  it('stays quiet when the tools answer quickly', async () => {
    const clock = new ManualClock();
    const { executor, running } = controllableExecutor();
    let slow = 0;
    const done = runToolCalls({
      calls: [call('a')],
      executor,
      callId: 'c',
      signal: new AbortController().signal,
      clock,
      onSlow: () => slow++,
    });
    await clock.advance(100);
    running.get('a')!.finish(ok('A'));
    await done;
    await clock.advance(10_000);
    expect(slow).toBe(0);
  });

  it('stops at once on barge-in and aborts the running tools', async () => {
    const clock = new ManualClock();
    const { executor, running } = controllableExecutor();
    const turn = new AbortController();
    const results: string[] = [];
    const done = runToolCalls({
      calls: [call('a'), call('b')],
      executor,
      callId: 'c',
      signal: turn.signal,
      clock,
      onResult: (c) => results.push(c.id),
    });
    await clock.advance(100);
    running.get('a')!.finish(ok('A'));
    turn.abort();
    const error = await done.catch((e: unknown) => e);
    expect(isAbort(error)).toBe(true);
    expect(running.get('b')!.invocation.signal.aborted).toBe(true);
    expect(results).toEqual([]);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('does not start tools when the turn is already over', async () => {
    const { executor, running } = controllableExecutor();
    const turn = new AbortController();
    turn.abort();
    const error = await runToolCalls({
      calls: [call('a')],
      executor,
      callId: 'c',
      signal: turn.signal,
      clock: new ManualClock(),
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(running.size).toBe(0);
  });
});

describe('parseToolArguments', () => {
  it('reads a JSON object, and an empty string as no arguments', () => {
    expect(parseToolArguments({ id: '1', name: 't', arguments: '{"city":"Paris"}' })).toEqual({
      ok: true,
      args: { city: 'Paris' },
    });
    expect(parseToolArguments({ id: '1', name: 't', arguments: '' })).toEqual({ ok: true, args: {} });
  });

  it('reports malformed or non-object arguments as an invalid_arguments outcome', () => {
    for (const text of ['{"city":', '[1,2]', 'null', '"Paris"']) {
      const parsed = parseToolArguments({ id: '1', name: 'get_weather', arguments: text });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.outcome.code).toBe('invalid_arguments');
        expect(JSON.parse(parsed.outcome.content)).toHaveProperty('error');
      }
    }
  });
});
