// Runs a number's assistant request hook for an inbound call and decides what the call starts with:
// the agent (the answer's when it is a published agent of the number's organization, else the
// number's), the variables and the session overrides, and the timeline event that says how it went.
import { AssistantRequestConfig } from '@parley/contracts';
import { agents, and, eq, isNull, type Executor } from '@parley/db';
import { operatorOrgContext } from '../admin/system.js';
import type { ServiceDeps } from '../context.js';
import { resolveCredentialSecret } from '../credentials/resolve-credential-secret.js';
import type { HostLookup } from '../outbound/resolve-target.js';
import {
  fetchAssistantRequest,
  type AssistantRequestBody,
  type AssistantRequestErrorCode,
} from './fetch-assistant-request.js';

/** The part of a logger the hook uses (pino's shape): structured fields, no personal data. */
export interface AssistantRequestLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** What a process needs to ask the hook; the carrier routes build it from their environment. */
export interface AssistantRequestEnv {
  deps: ServiceDeps;
  /** The operator's allow-list (PARLEY_OUTBOUND_ALLOWED_HOSTS). */
  allowedHosts: readonly string[];
  lookup?: HostLookup;
  log?: AssistantRequestLog;
}

/** What the session of an inbound call uses instead of the agent version's own texts. */
export interface AssistantOverrides {
  firstMessage?: string;
  systemPrompt?: string;
}

/** The key of `calls.metadata` the overrides are kept under, for the runtime that carries the call. */
export const ASSISTANT_OVERRIDES_KEY = 'assistantOverrides';

/** Sequence number of the `assistant_request` event: before the pre-call context (0) and the session (1…). */
export const ASSISTANT_REQUEST_EVENT_SEQ = -1;

export type AssistantRequestOutcomeCode = AssistantRequestErrorCode | 'unknown_agent' | 'agent_not_published';

/** The call's `assistant_request` event: what happened, never what the customer's server said. */
export interface AssistantRequestEvent {
  ok: boolean;
  code?: AssistantRequestOutcomeCode;
  reason?: string;
  latencyMs: number;
  /** The agent that takes the call. */
  agentId: string;
  /** Whether it is another agent than the number's. */
  agentChanged: boolean;
  /** Names of the variables the answer set (values are the customer's data). */
  variables: string[];
  /** Which texts the answer overrides (`firstMessage`, `systemPrompt`). */
  overrides: string[];
}

export interface InboundCallPlan {
  agentId: string;
  agentVersion: number;
  variables: Record<string, string>;
  overrides: AssistantOverrides;
  event: AssistantRequestEvent;
}

export interface AssistantRequestCall {
  organizationId: string;
  phoneNumberId: string;
  carrier: string;
  carrierCallId: string;
  from: string;
  to: string;
  /** The number's agent and its published version: the fallback. */
  agentId: string;
  agentVersion: number;
}

/** The hook of a number as stored; null when it has none (or a stored value no longer reads). */
export function storedAssistantRequest(value: unknown): AssistantRequestConfig | null {
  if (value === null || value === undefined) return null;
  const parsed = AssistantRequestConfig.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The overrides kept with a call (see ASSISTANT_OVERRIDES_KEY); empty when there are none. */
export function assistantOverridesOf(metadata: unknown): AssistantOverrides {
  if (typeof metadata !== 'object' || metadata === null) return {};
  const stored = (metadata as Record<string, unknown>)[ASSISTANT_OVERRIDES_KEY];
  if (typeof stored !== 'object' || stored === null) return {};
  const { firstMessage, systemPrompt } = stored as Record<string, unknown>;
  return {
    ...(typeof firstMessage === 'string' ? { firstMessage } : {}),
    ...(typeof systemPrompt === 'string' ? { systemPrompt } : {}),
  };
}

/**
 * Asks the hook and decides. Never throws for the hook's sake: whatever fails, the plan is the
 * number's agent with no variables or overrides, and the event says why.
 */
export async function askAssistantRequest(
  env: AssistantRequestEnv,
  db: Executor,
  config: AssistantRequestConfig,
  call: AssistantRequestCall,
): Promise<InboundCallPlan> {
  const fallback = (
    code: AssistantRequestOutcomeCode,
    reason: string,
    latencyMs: number,
  ): InboundCallPlan => ({
    agentId: call.agentId,
    agentVersion: call.agentVersion,
    variables: {},
    overrides: {},
    event: {
      ok: false,
      code,
      reason,
      latencyMs,
      agentId: call.agentId,
      agentChanged: false,
      variables: [],
      overrides: [],
    },
  });
  const body: AssistantRequestBody = {
    type: 'assistant_request',
    call: {
      direction: 'inbound',
      carrier: call.carrier,
      carrierCallId: call.carrierCallId,
      from: call.from,
      to: call.to,
      phoneNumberId: call.phoneNumberId,
    },
    agentId: call.agentId,
  };
  const system = {
    ...env.deps,
    actor: { type: 'system' as const, label: 'assistant-request' },
    clientIp: null,
  };
  const result = await fetchAssistantRequest({
    config,
    body,
    credentials: async (credentialId) =>
      resolveCredentialSecret(await operatorOrgContext(system, call.organizationId), credentialId),
    allowedHosts: env.allowedHosts,
    ...(env.lookup ? { lookup: env.lookup } : {}),
  });
  if (!result.ok) return fallback(result.code, result.reason, result.latencyMs);

  const { answer, latencyMs } = result;
  let agentId = call.agentId;
  let agentVersion = call.agentVersion;
  if (answer.agentId !== undefined && answer.agentId !== call.agentId) {
    // Only an agent of the number's own organization: another's is "unknown", exactly like a missing one.
    const [agent] = await db
      .select({ publishedVersion: agents.publishedVersion })
      .from(agents)
      .where(
        and(
          eq(agents.id, answer.agentId),
          eq(agents.organizationId, call.organizationId),
          isNull(agents.deletedAt),
        ),
      );
    if (!agent) {
      return fallback(
        'unknown_agent',
        'the answer names an agent this organization does not have',
        latencyMs,
      );
    }
    if (agent.publishedVersion === null) {
      return fallback('agent_not_published', 'the agent the answer names is not published', latencyMs);
    }
    agentId = answer.agentId;
    agentVersion = agent.publishedVersion;
  }
  const names = Object.keys(answer.variables);
  const overrides: AssistantOverrides = {
    ...(answer.firstMessage !== undefined ? { firstMessage: answer.firstMessage } : {}),
    ...(answer.systemPrompt !== undefined ? { systemPrompt: answer.systemPrompt } : {}),
  };
  return {
    agentId,
    agentVersion,
    variables: Object.fromEntries(names.map((name) => [name, String(answer.variables[name])])),
    overrides,
    event: {
      ok: true,
      latencyMs,
      agentId,
      agentChanged: agentId !== call.agentId,
      variables: names,
      overrides: Object.keys(overrides),
    },
  };
}
