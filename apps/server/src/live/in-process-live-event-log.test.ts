import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { LiveEvent, LiveEventInput } from '@parley/contracts';
import { InProcessLiveEventLog } from './in-process-live-event-log.js';
import type { LiveEventListener } from './live-event-log.js';

const logger = pino({ level: 'silent' });
const ORG = randomUUID();
const OTHER_ORG = randomUUID();
const CALL = randomUUID();

const said = (text: string): LiveEventInput => ({
  type: 'transcript.final',
  callId: CALL,
  agentId: null,
  occurredAt: new Date().toISOString(),
  data: { text },
});

/** What a listener heard: the texts of its events, and `reset:<id>` where it was told of a gap. */
function recorder() {
  const heard: string[] = [];
  const events: LiveEvent[] = [];
  const listener: LiveEventListener = {
    event: (event) => {
      events.push(event);
      heard.push(String(event.data['text']));
    },
    reset: (newestId) => heard.push(`reset:${newestId}`),
  };
  const count = (n: number) =>
    vi.waitFor(() => expect(heard).toHaveLength(n), { timeout: 2_000, interval: 1 });
  return { heard, events, listener, count };
}

describe('the in-process live event log', () => {
  it('fans each new event out to every listener of its organization, in order, with growing ids', async () => {
    const log = new InProcessLiveEventLog({ logger });
    const first = recorder();
    const second = recorder();
    const stranger = recorder();
    await log.subscribe(ORG, {}, first.listener);
    await log.subscribe(ORG, {}, second.listener);
    await log.subscribe(OTHER_ORG, {}, stranger.listener);

    for (const text of ['one', 'two', 'three']) log.append(ORG, said(text));
    // Never in the appender's own stack.
    expect(first.heard).toEqual([]);
    await first.count(3);
    await second.count(3);
    expect(first.heard).toEqual(['one', 'two', 'three']);
    expect(second.heard).toEqual(['one', 'two', 'three']);
    expect(stranger.heard).toEqual([]);
    const ids = first.events.map((event) => event.id);
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort(byId)).toEqual(ids);
  });

  it('resumes after a given id with exactly the events that followed, then the live ones', async () => {
    const log = new InProcessLiveEventLog({ logger });
    const live = recorder();
    await log.subscribe(ORG, {}, live.listener);
    for (const text of ['a', 'b', 'c', 'd']) log.append(ORG, said(text));
    await live.count(4);

    const resumed = recorder();
    await log.subscribe(ORG, { after: live.events[1]!.id }, resumed.listener);
    log.append(ORG, said('e'));
    await resumed.count(3);
    expect(resumed.heard).toEqual(['c', 'd', 'e']);
  });

  it('forgets an erased call: a listener resuming from before gets the other calls’ events only', async () => {
    const log = new InProcessLiveEventLog({ logger });
    const live = recorder();
    await log.subscribe(ORG, {}, live.listener);
    const otherCall = { ...said('kept'), callId: randomUUID() };
    for (const text of ['first', 'my card is 4111']) log.append(ORG, said(text));
    log.append(ORG, otherCall);
    await live.count(3);

    await log.forgetCall(ORG, CALL);
    const resumed = recorder();
    await log.subscribe(ORG, { after: live.events[0]!.id }, resumed.listener);
    log.append(ORG, said('after the erasure'));
    await resumed.count(2);
    expect(resumed.heard).toEqual(['kept', 'after the erasure']);
  });

  it('starts a listener without an id at the newest event, even one not fanned out yet', async () => {
    const log = new InProcessLiveEventLog({ logger });
    log.append(ORG, said('before'));
    const late = recorder();
    await log.subscribe(ORG, {}, late.listener);
    log.append(ORG, said('after'));
    await late.count(1);
    expect(late.heard).toEqual(['after']);
  });

  it('keeps the last events only, and tells a listener resuming before them that events were missed', async () => {
    const log = new InProcessLiveEventLog({ logger, retention: { maxEvents: 3 } });
    const live = recorder();
    await log.subscribe(ORG, {}, live.listener);
    for (const text of ['1', '2', '3', '4', '5']) log.append(ORG, said(text));
    await live.count(5);

    // '3' is the oldest kept: resuming after '2' misses nothing, after '1' misses '2'.
    const fine = recorder();
    await log.subscribe(ORG, { after: live.events[1]!.id }, fine.listener);
    expect(fine.heard).toEqual(['3', '4', '5']);

    const late = recorder();
    await log.subscribe(ORG, { after: live.events[0]!.id }, late.listener);
    log.append(ORG, said('6'));
    await late.count(2);
    // Told once, at the newest event, then only what follows.
    expect(late.heard).toEqual([`reset:${live.events[4]!.id}`, '6']);
  });

  it('drops events older than the age kept', async () => {
    let nowMs = 1_000_000;
    const log = new InProcessLiveEventLog({ logger, retention: { maxAgeMs: 60_000 }, nowMs: () => nowMs });
    const live = recorder();
    await log.subscribe(ORG, {}, live.listener);
    log.append(ORG, said('old'));
    nowMs += 30_000;
    log.append(ORG, said('recent'));
    await live.count(2);
    nowMs += 45_000;

    const resumed = recorder();
    await log.subscribe(ORG, { after: '1000000-0' }, resumed.listener);
    // 'old' is 75 s old: gone, so resuming before it is a reset.
    expect(resumed.heard).toEqual([`reset:${live.events[1]!.id}`]);
    const fine = recorder();
    await log.subscribe(ORG, { after: live.events[0]!.id }, fine.listener);
    expect(fine.heard).toEqual(['recent']);
  });

  it('answers an id from before this process started (a restart) with a reset', async () => {
    const log = new InProcessLiveEventLog({ logger });
    const resumed = recorder();
    await log.subscribe(ORG, { after: `${Date.now() - 60_000}-3` }, resumed.listener);
    expect(resumed.heard).toHaveLength(1);
    expect(resumed.heard[0]).toMatch(/^reset:/);
  });

  it('answers an id it never gave (newer than its newest) with a reset rather than skipping what follows', async () => {
    const log = new InProcessLiveEventLog({ logger });
    log.append(ORG, said('kept'));
    const resumed = recorder();
    await log.subscribe(ORG, { after: `${Date.now() + 3_600_000}-0` }, resumed.listener);
    log.append(ORG, said('next'));
    await resumed.count(2);
    expect(resumed.heard[0]).toMatch(/^reset:/);
    expect(resumed.heard[1]).toBe('next');
  });

  it('cannot vouch for an organization it forgot (all its events aged out): a resume from before is a reset', async () => {
    let nowMs = 5_000_000;
    const log = new InProcessLiveEventLog({ logger, retention: { maxAgeMs: 60_000 }, nowMs: () => nowMs });
    const live = recorder();
    const subscription = await log.subscribe(ORG, {}, live.listener);
    log.append(ORG, said('long ago'));
    await live.count(1);
    subscription.close();
    // Two minutes on, another organization's event sweeps the idle one away.
    nowMs += 120_000;
    log.append(OTHER_ORG, said('elsewhere'));
    const resumed = recorder();
    await log.subscribe(ORG, { after: live.events[0]!.id }, resumed.listener);
    expect(resumed.heard).toHaveLength(1);
    expect(resumed.heard[0]).toMatch(/^reset:/);
  });

  it('stops delivering to a closed subscription, and a throwing listener does not stop the others', async () => {
    const log = new InProcessLiveEventLog({ logger });
    const closed = recorder();
    const healthy = recorder();
    const subscription = await log.subscribe(ORG, {}, closed.listener);
    await log.subscribe(
      ORG,
      {},
      {
        event: () => {
          throw new Error('boom');
        },
        reset: () => {},
      },
    );
    await log.subscribe(ORG, {}, healthy.listener);
    subscription.close();
    log.append(ORG, said('x'));
    await healthy.count(1);
    expect(closed.heard).toEqual([]);
  });
});

function byId(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am === bm ? as - bs : am - bm;
}
