import { describe, expect, it } from 'vitest';
import { pickCallRuntime } from './choose-call-runtime.js';
import type { RuntimeRow } from './runtime-view.js';

const NOW = new Date('2026-01-01T12:00:00Z');
const STALE_AFTER_MS = 30_000;

function row(id: string, fields: Partial<RuntimeRow> = {}): RuntimeRow {
  return {
    id,
    startedAt: new Date(NOW.getTime() - 3_600_000),
    heartbeatAt: new Date(NOW.getTime() - 1_000),
    draining: false,
    role: 'runtime',
    version: '1.0.0',
    host: id,
    mediaUrl: `wss://${id}.example.com`,
    activeCalls: 0,
    drainingSince: null,
    ...fields,
  };
}

/** A seeded generator (mulberry32): the same draws on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (rows: RuntimeRow[], self: string | null = null, random = seeded(1)) =>
  pickCallRuntime(rows, {
    self: self ? { runtimeId: self, mediaUrl: `wss://${self}.example.com` } : null,
    now: NOW,
    staleAfterMs: STALE_AFTER_MS,
    random,
  });

/** How many of `draws` new calls each runtime gets. */
function spread(rows: RuntimeRow[], self: string | null, draws = 3000): Record<string, number> {
  const random = seeded(7);
  const counts: Record<string, number> = {};
  for (let i = 0; i < draws; i++) {
    const id = pick(rows, self, random)!.runtimeId;
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}
const draining = { draining: true, drainingSince: NOW };

describe('choosing the runtime of a new call', () => {
  it('keeps the call on the process that answers it, however loaded, unless it is draining', () => {
    const rows = [row('a', { activeCalls: 40 }), row('b')];
    expect(pick(rows, 'a')).toEqual({ runtimeId: 'a', mediaUrl: 'wss://a.example.com' });
    // A runtime swept while stalled is registering again: it still takes its own calls.
    expect(pick([row('b')], 'a')?.runtimeId).toBe('a');
  });

  it('sends it from a draining runtime to live ones that are not draining, the less loaded more often', () => {
    const rows = [
      row('a', { ...draining }),
      row('b', { activeCalls: 5 }),
      row('c', { activeCalls: 2 }),
      row('d', { ...draining, activeCalls: 0 }),
      row('e', { activeCalls: 0, heartbeatAt: new Date(NOW.getTime() - STALE_AFTER_MS - 1) }),
    ];
    // Odds 1/6 against 1/3: c gets about two calls in three, b the rest, the others none.
    const counts = spread(rows, 'a');
    expect(Object.keys(counts).sort()).toEqual(['b', 'c']);
    expect(counts['c']! / 3000).toBeGreaterThan(0.6);
    expect(counts['c']! / 3000).toBeLessThan(0.73);
    expect(pick(rows, 'a')?.mediaUrl).toMatch(/^wss:\/\/[bc]\.example\.com$/);
    // A process with no runtime of its own (role `api`) chooses the same way.
    expect(Object.keys(spread(rows, null)).sort()).toEqual(['b', 'c']);
  });

  it('spreads a burst over equally loaded runtimes instead of sending it all to one', () => {
    const counts = spread([row('a', { ...draining }), row('b'), row('c'), row('d')], 'a', 300);
    for (const id of ['b', 'c', 'd']) expect(counts[id]).toBeGreaterThan(70);
  });

  it('prefers runtimes with their own media URL; one without is reached through the public URL', () => {
    const rows = [row('a', { ...draining }), row('lb', { mediaUrl: null }), row('b', { activeCalls: 9 })];
    expect(pick(rows, 'a')?.runtimeId).toBe('b');
    expect(pick([row('a', { ...draining }), row('lb', { mediaUrl: null })], 'a')).toEqual({
      runtimeId: 'lb',
      mediaUrl: null,
    });
  });

  it('finds none when every runtime is draining or silent', () => {
    const stale = { heartbeatAt: new Date(NOW.getTime() - STALE_AFTER_MS - 1) };
    expect(pick([row('a', { ...draining }), row('b', { ...draining }), row('c', stale)], 'a')).toBeNull();
    expect(pick([])).toBeNull();
  });
});
