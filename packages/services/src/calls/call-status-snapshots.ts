// The status of calls by id, across organizations, for the server's own reports of status changes
// (live `call.status` events) after a verb that returns only ids (the sweeps) or too little (a
// carrier's callback). Never reachable from the API: it reads any organization's calls.
import { calls, inArray, type Database } from '@parley/db';

export interface CallStatusSnapshot {
  id: string;
  organizationId: string;
  agentId: string | null;
  status: string;
  endReason: string | null;
  runtimeId: string | null;
  endedAt: Date | null;
  updatedAt: Date;
}

export async function callStatusSnapshots(
  db: Database,
  callIds: readonly string[],
): Promise<CallStatusSnapshot[]> {
  if (callIds.length === 0) return [];
  return db
    .select({
      id: calls.id,
      organizationId: calls.organizationId,
      agentId: calls.agentId,
      status: calls.status,
      endReason: calls.endReason,
      runtimeId: calls.runtimeId,
      endedAt: calls.endedAt,
      updatedAt: calls.updatedAt,
    })
    .from(calls)
    .where(inArray(calls.id, [...callIds]));
}
