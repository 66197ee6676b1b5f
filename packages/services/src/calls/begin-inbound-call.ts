// An inbound call reached a routed number: its record is created (ringing) before the answer document
// goes back, with a short-lived single-use token that the media socket must present. A carrier that
// retries the webhook for the same call gets the same record and a fresh token.
import { calls, sql, type Database } from '@parley/db';
import type { AssistantRequestEnv } from '../assistant-request/ask-assistant-request.js';
import {
  planInboundCall,
  plannedCallValues,
  recordInboundPlan,
} from '../assistant-request/plan-inbound-call.js';
import { hashToken, randomToken } from '../secret-box.js';

export interface InboundCallStart {
  organizationId: string;
  phoneNumberId: string;
  agentId: string;
  agentVersion: number;
  carrier: string;
  carrierCallId: string;
  from: string;
  to: string;
}

/** How long the carrier has to open the media socket after our answer. */
export const MEDIA_TOKEN_TTL_MS = 120_000;

export async function beginInboundCall(
  db: Database,
  start: InboundCallStart,
  now: Date,
  /** Given by the carrier routes: a number's assistant request hook is asked before the call is created. */
  assistantRequest?: AssistantRequestEnv,
): Promise<{ callId: string; mediaToken: string; agentId: string | null }> {
  const plan = assistantRequest ? await planInboundCall(assistantRequest, db, start) : null;
  const mediaToken = randomToken();
  const expiresAt = new Date(now.getTime() + MEDIA_TOKEN_TTL_MS);
  const [row] = await db
    .insert(calls)
    .values({
      organizationId: start.organizationId,
      agentId: start.agentId,
      agentVersion: start.agentVersion,
      direction: 'inbound',
      transport: start.carrier,
      phoneNumberId: start.phoneNumberId,
      fromNumber: start.from,
      toNumber: start.to,
      status: 'ringing',
      carrierCallId: start.carrierCallId,
      mediaTokenHash: hashToken(mediaToken),
      mediaTokenExpiresAt: expiresAt,
      createdAt: now,
      updatedAt: now,
      ...(plan ? plannedCallValues(plan) : {}),
    })
    .onConflictDoUpdate({
      target: [calls.transport, calls.carrierCallId],
      targetWhere: sql`carrier_call_id is not null`,
      set: { mediaTokenHash: hashToken(mediaToken), mediaTokenExpiresAt: expiresAt, updatedAt: now },
    })
    .returning({ id: calls.id, agentId: calls.agentId });
  if (!row) throw new Error('insert returned no row');
  if (plan && assistantRequest) {
    await recordInboundPlan(assistantRequest, db, { ...start, id: row.id }, plan, now);
  }
  // The agent that takes the call: the number's, or the one its assistant request hook named.
  return { callId: row.id, mediaToken, agentId: row.agentId };
}
