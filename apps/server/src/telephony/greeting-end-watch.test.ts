import { describe, expect, it } from 'vitest';
import { ManualClock, type CallEvent } from '@parley/voice';
import { GreetingEndWatch, type GreetingEndCause } from './greeting-end-watch.js';

/** A watch on a manual clock, with the callee's speech as the session reports it. */
function watched(options: { settledSilenceMs?: number; maxWaitMs?: number } = {}) {
  const clock = new ManualClock();
  const ended: { cause: GreetingEndCause; waitedMs: number; atMs: number }[] = [];
  const watch = new GreetingEndWatch({
    clock,
    onEnded: (end) => ended.push({ ...end, atMs: clock.now() }),
    settledSilenceMs: options.settledSilenceMs ?? 1_000,
    maxWaitMs: options.maxWaitMs ?? 20_000,
  });
  let seq = 0;
  const event = (body: { type: 'user.speech.started' } | { type: 'user.speech.stopped' }): CallEvent =>
    (body.type === 'user.speech.started'
      ? { type: body.type, probability: 0.9, seq: ++seq, atMs: Math.round(clock.now()) }
      : { type: body.type, speechDurationMs: 500, seq: ++seq, atMs: Math.round(clock.now()) }) as CallEvent;
  return {
    clock,
    watch,
    ended,
    speaks: () => watch.onEvent(event({ type: 'user.speech.started' })),
    stops: () => watch.onEvent(event({ type: 'user.speech.stopped' })),
  };
}

describe('GreetingEndWatch', () => {
  it('waits through a greeting the verdict interrupts, and ends a settled second after its last speech', async () => {
    const { clock, watch, ended, speaks, stops } = watched();
    speaks(); // the machine's greeting starts
    await clock.advance(1_500);
    watch.start(); // the verdict, mid-greeting
    await clock.advance(1_100); // the greeting goes on: nothing yet
    expect(ended).toEqual([]);
    stops(); // 2.6 s: the greeting (and its beep, which is no speech) is over
    await clock.advance(999);
    expect(ended).toEqual([]);
    await clock.advance(1);
    expect(ended).toEqual([{ cause: 'silence', waitedMs: 2_100, atMs: 3_600 }]);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('does not take a pause between sentences for the end: speech after it starts the count again', async () => {
    const { clock, watch, ended, speaks, stops } = watched();
    speaks();
    await clock.advance(1_000);
    watch.start();
    stops();
    await clock.advance(600); // a pause shorter than the settled silence
    speaks();
    await clock.advance(800);
    stops();
    await clock.advance(999);
    expect(ended).toEqual([]);
    await clock.advance(1);
    expect(ended.map((e) => [e.cause, e.atMs])).toEqual([['silence', 3_400]]);
  });

  it('counts the quiet heard before the verdict: a verdict after the greeting waits only the rest', async () => {
    const { clock, watch, ended, speaks, stops } = watched();
    speaks();
    await clock.advance(2_000);
    stops();
    await clock.advance(700);
    watch.start();
    await clock.advance(299);
    expect(ended).toEqual([]);
    await clock.advance(1);
    expect(ended).toEqual([{ cause: 'silence', waitedMs: 300, atMs: 3_000 }]);
  });

  it('ends at once when the line has long been quiet at the verdict', async () => {
    const { clock, watch, ended, speaks, stops } = watched();
    speaks();
    await clock.advance(2_000);
    stops();
    await clock.advance(5_000);
    watch.start();
    await clock.advance(0);
    expect(ended).toEqual([{ cause: 'silence', waitedMs: 0, atMs: 7_000 }]);
  });

  it('measures from the verdict when the machine has not been heard at all', async () => {
    const { clock, watch, ended } = watched();
    await clock.advance(3_000);
    watch.start();
    await clock.advance(999);
    expect(ended).toEqual([]);
    await clock.advance(1);
    expect(ended).toEqual([{ cause: 'silence', waitedMs: 1_000, atMs: 4_000 }]);
  });

  it('gives up waiting at the upper bound when the machine never goes quiet', async () => {
    const { clock, watch, ended, speaks } = watched({ maxWaitMs: 20_000 });
    speaks();
    await clock.advance(1_500);
    watch.start();
    await clock.advance(19_999);
    expect(ended).toEqual([]);
    await clock.advance(1);
    expect(ended).toEqual([{ cause: 'max_wait', waitedMs: 20_000, atMs: 21_500 }]);
    expect(clock.pendingTimerCount).toBe(0);
  });

  it('ends once only, and not at all once cancelled or before the verdict', async () => {
    const early = watched();
    early.speaks();
    await early.clock.advance(1_000);
    early.stops();
    await early.clock.advance(30_000); // quiet, but no verdict: nothing to end
    expect(early.ended).toEqual([]);
    expect(early.watch.waiting).toBe(false);

    const once = watched();
    once.watch.start();
    once.watch.start(); // a repeated verdict
    await once.clock.advance(30_000);
    expect(once.ended.map((e) => e.cause)).toEqual(['silence']);

    const cancelled = watched();
    cancelled.speaks();
    cancelled.watch.start();
    expect(cancelled.watch.waiting).toBe(true);
    cancelled.watch.cancel(); // the call ended, or the carrier reported the end after all
    cancelled.stops();
    await cancelled.clock.advance(30_000);
    expect(cancelled.ended).toEqual([]);
    expect(cancelled.watch.waiting).toBe(false);
    expect(cancelled.clock.pendingTimerCount).toBe(0);
  });
});
