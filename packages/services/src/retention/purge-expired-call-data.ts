// The retention purge: for every organization with a retention period, removes the recordings and
// transcripts of calls that ended (or, never ended, were created) longer ago than that period. It works
// in batches, each in its own short transaction, so a large backlog never holds locks for long; it is
// idempotent (what is gone is not selected again), and one audit row per organization records the counts.
// Leads, the call rows themselves and their non-spoken events (status, timings) stay.
import { unlink } from 'node:fs/promises';
import {
  and,
  auditLog,
  callEvents,
  calls,
  eq,
  gt,
  inArray,
  isNotNull,
  or,
  organizations,
  queryRows,
  sql,
  transcriptTurns,
  webhookDeliveries,
  type Executor,
  type Database,
} from '@parley/db';

export interface PurgeExpiredCallDataOptions {
  now: Date;
  /** Calls (or deliveries) per transaction. Default 500. */
  batchSize?: number;
  /** A recording file could not be removed (it is kept and retried next run); for the log, no content. */
  onFileError?: (error: unknown, callId: string) => void;
}

export interface OrganizationPurge {
  organizationId: string;
  recordingsPurged: number;
  transcriptsPurged: number;
  webhookDeliveriesPurged: number;
}

export interface PurgeExpiredCallDataResult {
  /** Another process held the purge lock: this run stopped early and left the rest to it. */
  busy: boolean;
  organizations: OrganizationPurge[];
}

/**
 * Events that carry nothing said or typed (no text, tool arguments, digits or error messages): kept
 * after the transcript is purged, so the call's timeline of states and timings stays readable.
 */
export const RETAINED_EVENT_TYPES = [
  'call.started',
  'call.ended',
  'user.speech.started',
  'user.speech.stopped',
  'agent.speech.started',
  'turn.latency',
  // A supervisor's commands record who did what and lengths, never the text: how the call was handled.
  'control.hang_up',
  'control.say',
  'control.inject',
  'control.transfer',
  'control.mute',
  'control.unmute',
] as const;

/** The advisory lock each purge batch takes. Arbitrary, fixed: distinct from the migration lock's key. */
export const PURGE_LOCK_KEY = 7_318_004_211;
const DAY_MS = 86_400_000;

class PurgeBusy extends Error {}

/** Each batch runs under a transaction-scoped advisory lock: one process purges at a time. */
async function inBatch<T>(db: Database, work: (tx: Executor) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const [row] = await queryRows<{ locked: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(${PURGE_LOCK_KEY}) as locked`,
    );
    if (!row?.locked) throw new PurgeBusy();
    return work(tx);
  });
}

/**
 * Runs `batch` in a locked transaction of its own until one finds fewer than `batchSize` rows, so a
 * big backlog never holds a long lock. Each batch says how many rows it found and how many it purged.
 */
async function inBatchesUntilDone(
  db: Database,
  batchSize: number,
  batch: (tx: Executor) => Promise<{ found: number; purged: number }>,
): Promise<number> {
  let purged = 0;
  for (;;) {
    const result = await inBatch(db, batch);
    purged += result.purged;
    if (result.found < batchSize) return purged;
  }
}

const spokenEvent = sql`${callEvents.type} not in (${sql.join(
  RETAINED_EVENT_TYPES.map((type) => sql`${type}`),
  sql`, `,
)})`;

const endedBefore = (cutoff: Date) => sql`coalesce(${calls.endedAt}, ${calls.createdAt}) < ${cutoff}`;

async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function purgeRecordings(
  db: Database,
  organizationId: string,
  cutoff: Date,
  options: PurgeExpiredCallDataOptions,
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  // Keyset over call ids: a file that cannot be removed is skipped, never selected again this run.
  let after = '00000000-0000-0000-0000-000000000000';
  return inBatchesUntilDone(db, batchSize, async (tx) => {
    const rows = await tx
      .select({ id: calls.id, recordingPath: calls.recordingPath })
      .from(calls)
      .where(
        and(
          eq(calls.organizationId, organizationId),
          isNotNull(calls.recordingPath),
          endedBefore(cutoff),
          gt(calls.id, after),
        ),
      )
      .orderBy(calls.id)
      .limit(batchSize)
      .for('update');
    const removed: string[] = [];
    for (const row of rows) {
      try {
        // Inside the transaction: a failed commit leaves a row whose file answers "not found".
        await removeFile(row.recordingPath!);
        removed.push(row.id);
      } catch (error) {
        options.onFileError?.(error, row.id);
      }
    }
    if (removed.length > 0) {
      await tx
        .update(calls)
        .set({ recordingPath: null, recordingDurationMs: null })
        .where(inArray(calls.id, removed));
    }
    after = rows.at(-1)?.id ?? after;
    return { found: rows.length, purged: removed.length };
  });
}

async function purgeTranscripts(
  db: Database,
  organizationId: string,
  cutoff: Date,
  batchSize: number,
): Promise<number> {
  return inBatchesUntilDone(db, batchSize, async (tx) => {
    // Only calls with something left to purge: a second run finds none.
    const rows = await tx
      .select({ id: calls.id })
      .from(calls)
      .where(
        and(
          eq(calls.organizationId, organizationId),
          endedBefore(cutoff),
          or(
            sql`exists (select 1 from ${transcriptTurns} where ${transcriptTurns.callId} = ${calls.id})`,
            sql`exists (select 1 from ${callEvents} where ${callEvents.callId} = ${calls.id} and ${spokenEvent})`,
          ),
        ),
      )
      .orderBy(calls.id)
      .limit(batchSize);
    const ids = rows.map((r) => r.id);
    if (ids.length > 0) {
      await tx.delete(transcriptTurns).where(inArray(transcriptTurns.callId, ids));
      await tx.delete(callEvents).where(and(inArray(callEvents.callId, ids), spokenEvent));
    }
    return { found: ids.length, purged: ids.length };
  });
}

/**
 * Webhook deliveries about calls carry their transcripts in the payload. Finished ones (sent or
 * abandoned) created before the cutoff go; those still being retried stay until a later run.
 */
async function purgeDeliveries(
  db: Database,
  organizationId: string,
  cutoff: Date,
  batchSize: number,
): Promise<number> {
  return inBatchesUntilDone(db, batchSize, async (tx) => {
    const due = tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.organizationId, organizationId),
          inArray(webhookDeliveries.status, ['succeeded', 'abandoned']),
          sql`${webhookDeliveries.createdAt} < ${cutoff}`,
          sql`${webhookDeliveries.payload}->'data' ? 'callId'`,
        ),
      )
      .limit(batchSize);
    const deleted = await tx
      .delete(webhookDeliveries)
      .where(inArray(webhookDeliveries.id, due))
      .returning({ id: webhookDeliveries.id });
    return { found: deleted.length, purged: deleted.length };
  });
}

export async function purgeExpiredCallData(
  db: Database,
  options: PurgeExpiredCallDataOptions,
): Promise<PurgeExpiredCallDataResult> {
  const batchSize = options.batchSize ?? 500;
  const targets = await db
    .select({
      id: organizations.id,
      recordingDays: organizations.recordingRetentionDays,
      transcriptDays: organizations.transcriptRetentionDays,
    })
    .from(organizations)
    .where(
      or(isNotNull(organizations.recordingRetentionDays), isNotNull(organizations.transcriptRetentionDays)),
    )
    .orderBy(organizations.id);
  const result: PurgeExpiredCallDataResult = { busy: false, organizations: [] };
  for (const target of targets) {
    const cutoffOf = (days: number) => new Date(options.now.getTime() - days * DAY_MS);
    const recordingCutoff = target.recordingDays === null ? null : cutoffOf(target.recordingDays);
    const transcriptCutoff = target.transcriptDays === null ? null : cutoffOf(target.transcriptDays);
    const purge: OrganizationPurge = {
      organizationId: target.id,
      recordingsPurged: 0,
      transcriptsPurged: 0,
      webhookDeliveriesPurged: 0,
    };
    try {
      if (recordingCutoff)
        purge.recordingsPurged = await purgeRecordings(db, target.id, recordingCutoff, options);
      if (transcriptCutoff) {
        purge.transcriptsPurged = await purgeTranscripts(db, target.id, transcriptCutoff, batchSize);
        purge.webhookDeliveriesPurged = await purgeDeliveries(db, target.id, transcriptCutoff, batchSize);
      }
    } catch (error) {
      if (!(error instanceof PurgeBusy)) throw error;
      result.busy = true;
    }
    // Only runs that removed something are recorded: a daily row per organization saying "nothing"
    // would bury the ones that matter.
    if (purge.recordingsPurged + purge.transcriptsPurged + purge.webhookDeliveriesPurged > 0) {
      await db.insert(auditLog).values({
        organizationId: target.id,
        actorType: 'system',
        actorId: null,
        actorLabel: 'retention',
        action: 'retention.purge',
        targetType: 'organization',
        targetId: target.id,
        details: {
          recordingsPurged: purge.recordingsPurged,
          transcriptsPurged: purge.transcriptsPurged,
          webhookDeliveriesPurged: purge.webhookDeliveriesPurged,
          recordingCutoff: recordingCutoff?.toISOString() ?? null,
          transcriptCutoff: transcriptCutoff?.toISOString() ?? null,
        },
        clientIp: null,
      });
    }
    result.organizations.push(purge);
    if (result.busy) break;
  }
  return result;
}
