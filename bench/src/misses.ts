// Frame-deadline misses of a held voice load (row b's measure, also row e2's "no added misses").
import type { LoadResult } from './load.js';

export interface DeadlineMisses {
  inbound: number;
  inboundLate: number;
  outbound: number;
  /** Outbound frames sent late plus underruns. */
  outboundMiss: number;
  /** Misses over all frames, both directions. */
  missShare: number;
}

export function deadlineMisses(load: Pick<LoadResult, 'before' | 'after'>): DeadlineMisses {
  const { before, after } = load;
  const inbound = after.inboundFrames - before.inboundFrames;
  const inboundLate = after.inboundLateFrames - before.inboundLateFrames;
  const outbound = after.outboundFrames - before.outboundFrames;
  const outboundMiss =
    after.outboundLateFrames +
    after.outboundUnderruns -
    (before.outboundLateFrames + before.outboundUnderruns);
  const missShare = (inboundLate + outboundMiss) / Math.max(1, inbound + outbound);
  return { inbound, inboundLate, outbound, outboundMiss, missShare };
}
