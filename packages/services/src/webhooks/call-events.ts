// The call events customers' endpoints receive, built from the call's rows at the moment they change
// (docs/webhooks.md shows each payload).
import { asc, calls, eq, transcriptTurns, type Executor } from '@parley/db';
import type { WebhookEventInput } from './enqueue-webhook-event.js';

type CallRow = typeof calls.$inferSelect;

const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

export function callStatusChangedEvent(
  call: CallRow,
  previousStatus: string,
  occurredAt: Date,
): WebhookEventInput {
  return {
    organizationId: call.organizationId,
    type: 'call.status_changed',
    occurredAt,
    data: {
      callId: call.id,
      agentId: call.agentId,
      direction: call.direction,
      previousStatus,
      status: call.status,
      endReason: call.endReason,
    },
  };
}

/**
 * The end-of-call report: who, how long, why it ended, what was said, latency, and the recording (its
 * `url`, signed and expiring, is added when each delivery is sent). `analysis` is null until calls are
 * analysed.
 */
export async function callEndedEvent(
  db: Executor,
  callId: string,
  occurredAt: Date,
): Promise<WebhookEventInput | null> {
  const [call] = await db.select().from(calls).where(eq(calls.id, callId));
  if (!call) return null;
  const turns = await db
    .select({
      role: transcriptTurns.role,
      text: transcriptTurns.text,
      atMs: transcriptTurns.atMs,
      interrupted: transcriptTurns.interrupted,
    })
    .from(transcriptTurns)
    .where(eq(transcriptTurns.callId, call.id))
    .orderBy(asc(transcriptTurns.seq));
  const endedAt = call.endedAt ?? occurredAt;
  return {
    organizationId: call.organizationId,
    type: 'call.ended',
    occurredAt,
    data: {
      callId: call.id,
      agentId: call.agentId,
      agentVersion: call.agentVersion,
      direction: call.direction,
      transport: call.transport,
      from: call.fromNumber,
      to: call.toNumber,
      status: call.status,
      endReason: call.endReason,
      carrierReason: call.carrierReason,
      createdAt: call.createdAt.toISOString(),
      answeredAt: isoOrNull(call.answeredAt),
      endedAt: endedAt.toISOString(),
      durations: {
        totalMs: Math.max(0, endedAt.getTime() - call.createdAt.getTime()),
        talkMs: call.answeredAt ? Math.max(0, endedAt.getTime() - call.answeredAt.getTime()) : 0,
      },
      transcript: turns,
      latency: call.latency ?? null,
      recording: call.recordingPath
        ? { durationMs: call.recordingDurationMs, url: null as string | null }
        : null,
      analysis: null,
    },
  };
}
