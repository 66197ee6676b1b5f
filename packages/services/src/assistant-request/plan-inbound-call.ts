// Where the four carriers' inbound webhooks meet the assistant request hook (through beginInboundCall):
// a call to a number with a hook asks it once, before the call's record is created; a carrier's retry
// of the same webhook finds the record and asks nothing again.
import { and, callEvents, calls, eq, phoneNumbers, type Database } from '@parley/db';
import {
  ASSISTANT_OVERRIDES_KEY,
  ASSISTANT_REQUEST_EVENT_SEQ,
  askAssistantRequest,
  storedAssistantRequest,
  type AssistantRequestCall,
  type AssistantRequestEnv,
  type InboundCallPlan,
} from './ask-assistant-request.js';

/** The plan for a new call to a number with a hook; null when there is no hook or the call exists. */
export async function planInboundCall(
  env: AssistantRequestEnv,
  db: Database,
  call: AssistantRequestCall,
): Promise<InboundCallPlan | null> {
  // One lookup by key for every inbound call; the rest only for numbers with a hook.
  const [number] = await db
    .select({ assistantRequest: phoneNumbers.assistantRequest })
    .from(phoneNumbers)
    .where(
      and(eq(phoneNumbers.id, call.phoneNumberId), eq(phoneNumbers.organizationId, call.organizationId)),
    );
  const config = storedAssistantRequest(number?.assistantRequest);
  if (!config) return null;
  const [existing] = await db
    .select({ id: calls.id })
    .from(calls)
    .where(and(eq(calls.transport, call.carrier), eq(calls.carrierCallId, call.carrierCallId)));
  if (existing) return null;
  return askAssistantRequest(env, db, config, call);
}

/** The columns of the call's row the plan sets. */
export function plannedCallValues(plan: InboundCallPlan) {
  const hasOverrides = Object.keys(plan.overrides).length > 0;
  return {
    agentId: plan.agentId,
    agentVersion: plan.agentVersion,
    variables: plan.variables,
    ...(hasOverrides ? { metadata: { [ASSISTANT_OVERRIDES_KEY]: plan.overrides } } : {}),
  };
}

/**
 * Puts the outcome on the call's timeline and in the log (codes, timings and names only: never a
 * number, a value or the answer's body). A failure to write it costs the event, never the call.
 */
export async function recordInboundPlan(
  env: AssistantRequestEnv,
  db: Database,
  call: { id: string; organizationId: string; phoneNumberId: string },
  plan: InboundCallPlan,
  now: Date,
): Promise<void> {
  const { event } = plan;
  const fields = {
    callId: call.id,
    organizationId: call.organizationId,
    phoneNumberId: call.phoneNumberId,
    assistantRequest: {
      ok: event.ok,
      ...(event.code ? { code: event.code, reason: event.reason } : {}),
      latencyMs: event.latencyMs,
      agentId: event.agentId,
      agentChanged: event.agentChanged,
      variableCount: event.variables.length,
      overrides: event.overrides,
    },
  };
  if (event.ok) env.log?.info(fields, 'assistant request answered');
  else env.log?.warn(fields, 'assistant request failed; the number’s agent takes the call');
  try {
    await db
      .insert(callEvents)
      .values({
        callId: call.id,
        organizationId: call.organizationId,
        seq: ASSISTANT_REQUEST_EVENT_SEQ,
        type: 'assistant_request',
        atMs: 0,
        data: { ...event },
        createdAt: now,
      })
      .onConflictDoNothing();
  } catch (error) {
    // The database's code only: its messages may quote the row.
    const code =
      typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown';
    env.log?.warn({ callId: call.id, code }, 'assistant request event not written');
  }
}
