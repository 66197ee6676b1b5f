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

const pick = (rows: RuntimeRow[], self: string | null = null) =>
  pickCallRuntime(rows, {
    self: self ? { runtimeId: self, mediaUrl: `wss://${self}.example.com` } : null,
    now: NOW,
    staleAfterMs: STALE_AFTER_MS,
  });
const draining = { draining: true, drainingSince: NOW };

describe('choosing the runtime of a new call', () => {
  it('keeps the call on the process that answers it, however loaded, unless it is draining', () => {
    const rows = [row('a', { activeCalls: 40 }), row('b')];
    expect(pick(rows, 'a')).toEqual({ runtimeId: 'a', mediaUrl: 'wss://a.example.com' });
    // A runtime swept while stalled is registering again: it still takes its own calls.
    expect(pick([row('b')], 'a')?.runtimeId).toBe('a');
  });

  it('sends it from a draining runtime to the least-loaded live one that is not draining', () => {
    const rows = [
      row('a', { ...draining }),
      row('b', { activeCalls: 5 }),
      row('c', { activeCalls: 2 }),
      row('d', { ...draining, activeCalls: 0 }),
      row('e', { activeCalls: 0, heartbeatAt: new Date(NOW.getTime() - STALE_AFTER_MS - 1) }),
    ];
    expect(pick(rows, 'a')).toEqual({ runtimeId: 'c', mediaUrl: 'wss://c.example.com' });
    // A process with no runtime of its own (role `api`) chooses the same way.
    expect(pick(rows)?.runtimeId).toBe('c');
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
