// Row (e)'s request mix and schedules, apart from any I/O: which request comes next (a seeded draw, so
// two runs send the same sequence) and when an open-loop request is due.

export type ApiRequestKind = 'get' | 'list' | 'create' | 'update';

/** 70% get by id, 20% list of 20, 10% writes (half creates, half updates), as the reference says. */
export const API_MIX: Readonly<Record<ApiRequestKind, number>> = {
  get: 0.7,
  list: 0.2,
  create: 0.05,
  update: 0.05,
};

export const API_REQUEST_KINDS = Object.keys(API_MIX) as ApiRequestKind[];

/** Draws request kinds with the mix's weights from `random` (uniform in [0, 1)). */
export function mixChooser(
  random: () => number,
  mix: Readonly<Record<ApiRequestKind, number>> = API_MIX,
): () => ApiRequestKind {
  const total = API_REQUEST_KINDS.reduce((sum, kind) => sum + mix[kind], 0);
  if (!(total > 0)) throw new Error('the request mix has no weight');
  // Cumulative bounds, so a draw is one short scan.
  let cumulative = 0;
  const bounds = API_REQUEST_KINDS.map((kind) => {
    cumulative += mix[kind] / total;
    return [cumulative, kind] as const;
  });
  return () => {
    const draw = random();
    for (const [bound, kind] of bounds) if (draw < bound) return kind;
    // Rounding can leave the last bound a hair under 1.
    return bounds[bounds.length - 1]![1];
  };
}

/**
 * When the `index`-th request of an open-loop run is due, in ms after its start. Requests keep this
 * schedule whatever the server answers, and latency is counted from it, so a slow answer is not hidden
 * by the generator waiting for it (coordinated omission).
 */
export function openLoopDueMs(index: number, ratePerSecond: number): number {
  return (index * 1000) / ratePerSecond;
}
