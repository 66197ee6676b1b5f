// A command for a live call (a carrier's verdict, later an operator's hang-up) must reach the runtime
// process carrying it, which may not be the process that received the request: this says which one.
import { calls, eq, type Database } from '@parley/db';

/**
 * The id of the runtime that claimed the call's media, or null when none has (the call is still
 * ringing, or there is no such call). The call's status is not checked: a runtime that has already
 * ended the call ignores commands for it, and a final status from the carrier is itself a command.
 */
export async function findCallRuntime(db: Database, callId: string): Promise<string | null> {
  const [row] = await db.select({ runtimeId: calls.runtimeId }).from(calls).where(eq(calls.id, callId));
  return row?.runtimeId ?? null;
}
