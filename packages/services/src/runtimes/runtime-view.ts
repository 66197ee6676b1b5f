// How a runtime's row reads to an operator: its state, from its drain and its last heartbeat.
import type { Runtime, RuntimeState } from '@parley/contracts';
import type { runtimes } from '@parley/db';
import { DEFAULT_RUNTIME_STALE_AFTER_MS } from '../calls/runtime-registry.js';
import type { ServiceDeps } from '../context.js';
import { iso, isoOrNull } from '../pagination.js';

export type RuntimeRow = typeof runtimes.$inferSelect;

export const staleAfterMsOf = (deps: ServiceDeps) =>
  deps.runtimeStaleAfterMs ?? DEFAULT_RUNTIME_STALE_AFTER_MS;

/** Whether the runtime has heartbeaten within `staleAfterMs` of `now`. */
export function isLive(row: Pick<RuntimeRow, 'heartbeatAt'>, now: Date, staleAfterMs: number): boolean {
  return now.getTime() - row.heartbeatAt.getTime() <= staleAfterMs;
}

export function runtimeState(
  row: Pick<RuntimeRow, 'heartbeatAt' | 'draining' | 'activeCalls'>,
  now: Date,
  staleAfterMs: number,
): RuntimeState {
  if (!isLive(row, now, staleAfterMs)) return 'stale';
  if (!row.draining) return 'active';
  return row.activeCalls === 0 ? 'drained' : 'draining';
}

export function toRuntime(row: RuntimeRow, now: Date, staleAfterMs: number): Runtime {
  return {
    id: row.id,
    role: row.role,
    version: row.version,
    host: row.host,
    mediaUrl: row.mediaUrl,
    state: runtimeState(row, now, staleAfterMs),
    activeCalls: row.activeCalls,
    startedAt: iso(row.startedAt),
    heartbeatAt: iso(row.heartbeatAt),
    drainingSince: isoOrNull(row.drainingSince),
  };
}
