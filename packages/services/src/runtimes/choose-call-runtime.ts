// Which runtime a new call goes to, decided where the carrier is told where to open the call's media
// socket (an inbound answer, an outbound dial or answer). The registry's rows are the truth, so a drain
// set by any process steers every process's next call at once.
import { eq, gte, or, runtimes, type Database } from '@parley/db';
import { isLive, type RuntimeRow } from './runtime-view.js';

export interface ChosenRuntime {
  runtimeId: string;
  /** Its own media base URL (ws:// or wss://); null: the instance's public URL reaches it. */
  mediaUrl: string | null;
}

export interface RuntimeChoice {
  /** The runtime of the choosing process, if it carries calls (a process of role `api` has none). */
  self: { runtimeId: string; mediaUrl: string | null } | null;
  now: Date;
  staleAfterMs: number;
}

/**
 * The choosing process's own runtime unless it is draining (a runtime whose row is missing was swept
 * while stalled and is registering again: it still takes calls). Otherwise the least-loaded live,
 * non-draining runtime, preferring those with their own media URL (one without can only be reached
 * through the public URL, where a load balancer picks the process). Null when no runtime can take it.
 */
export function pickCallRuntime(rows: readonly RuntimeRow[], choice: RuntimeChoice): ChosenRuntime | null {
  const { self, now, staleAfterMs } = choice;
  if (self) {
    const own = rows.find((row) => row.id === self.runtimeId);
    if (!own || !own.draining) return { runtimeId: self.runtimeId, mediaUrl: self.mediaUrl };
  }
  const candidates = rows
    .filter((row) => row.id !== self?.runtimeId && !row.draining && isLive(row, now, staleAfterMs))
    .sort(
      (a, b) =>
        Number(a.mediaUrl === null) - Number(b.mediaUrl === null) ||
        a.activeCalls - b.activeCalls ||
        a.id.localeCompare(b.id),
    );
  const chosen = candidates[0];
  return chosen ? { runtimeId: chosen.id, mediaUrl: chosen.mediaUrl } : null;
}

export async function chooseCallRuntime(db: Database, choice: RuntimeChoice): Promise<ChosenRuntime | null> {
  const liveSince = new Date(choice.now.getTime() - choice.staleAfterMs);
  const rows = await db
    .select()
    .from(runtimes)
    .where(
      choice.self
        ? or(gte(runtimes.heartbeatAt, liveSince), eq(runtimes.id, choice.self.runtimeId))
        : gte(runtimes.heartbeatAt, liveSince),
    );
  return pickCallRuntime(rows, choice);
}
