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
  /** Uniform in [0, 1); Math.random unless a test pins it. */
  random?: () => number;
}

/**
 * The choosing process's own runtime unless it is draining (a runtime whose row is missing was swept
 * while stalled and is registering again: it still takes calls). Otherwise a live, non-draining
 * runtime, preferring those with their own media URL (one without can only be reached through the
 * public URL, where a load balancer picks the process), drawn with odds inversely proportional to its
 * load. A draw rather than "the least loaded": the loads are as of the last heartbeats, so every call of
 * a burst would otherwise go to the same runtime. Null when no runtime can take it.
 */
export function pickCallRuntime(rows: readonly RuntimeRow[], choice: RuntimeChoice): ChosenRuntime | null {
  const { self, now, staleAfterMs } = choice;
  if (self) {
    const own = rows.find((row) => row.id === self.runtimeId);
    if (!own || !own.draining) return { runtimeId: self.runtimeId, mediaUrl: self.mediaUrl };
  }
  const live = rows
    .filter((row) => row.id !== self?.runtimeId && !row.draining && isLive(row, now, staleAfterMs))
    .sort((a, b) => a.id.localeCompare(b.id));
  const reachable = live.filter((row) => row.mediaUrl !== null);
  const candidates = reachable.length > 0 ? reachable : live;
  if (candidates.length === 0) return null;
  const weights = candidates.map((row) => 1 / (1 + Math.max(0, row.activeCalls)));
  let draw = (choice.random ?? Math.random)() * weights.reduce((sum, weight) => sum + weight, 0);
  let chosen = candidates[candidates.length - 1]!;
  for (const [index, weight] of weights.entries()) {
    draw -= weight;
    if (draw < 0) {
      chosen = candidates[index]!;
      break;
    }
  }
  return { runtimeId: chosen.id, mediaUrl: chosen.mediaUrl };
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
