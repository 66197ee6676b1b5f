// The agent's pre-call context hook, asked as a call is set up: the customer's server answers with
// variables for the prompt and first message, and they go OVER the call's own variables (the customer's
// server knows best, and is asked at the last moment). Templates use only variables the agent declares,
// so an agent declares each variable its hook provides, with a default for when the hook fails.
// Whatever happens, the call goes on: a failure leaves the variables as they were.
import type { FastifyBaseLogger } from 'fastify';
import { AgentConfig } from '@parley/contracts';
import { fetchPreCallContext, type ClaimedCall, type HostLookup, type JournalEvent } from '@parley/services';

export interface PreCallVariablesInput {
  call: Pick<
    ClaimedCall['call'],
    'id' | 'direction' | 'fromNumber' | 'toNumber' | 'agentId' | 'agentVersion' | 'variables'
  >;
  /** The agent version the call runs (the agent's own, even on a simulated call). */
  agentConfig: Record<string, unknown>;
  /** Decrypted values of a credential in the call's organization. */
  credentials: (credentialId: string) => Promise<Record<string, string>>;
  /** The operator's allow-list of host names the hook may reach whatever they resolve to. */
  allowedHosts: readonly string[];
  lookup?: HostLookup;
  log: FastifyBaseLogger;
  /** Where the call's timeline is written: gets a `pre_call_context` event (names, never values). */
  journal?: { record(event: JournalEvent): void };
  signal?: AbortSignal;
}

/**
 * Sequence number of the `pre_call_context` event: it happens before the session, whose events are
 * numbered from 1.
 */
export const PRE_CALL_EVENT_SEQ = 0;

/** The call's variables, with what the agent's pre-call hook answered over them (when it has one). */
export async function preCallVariables(input: PreCallVariablesInput): Promise<Record<string, string>> {
  const { call } = input;
  const parsed = AgentConfig.safeParse(input.agentConfig);
  // An invalid version fails the call's setup with its own reason; no hook is asked for it.
  if (!parsed.success || !parsed.data.preCallContext) return call.variables;
  const result = await fetchPreCallContext({
    config: parsed.data.preCallContext,
    call: {
      id: call.id,
      direction: call.direction as 'inbound' | 'outbound' | 'web',
      from: call.fromNumber,
      to: call.toNumber,
      agentId: call.agentId,
      agentVersion: call.agentVersion,
    },
    variables: call.variables,
    credentials: input.credentials,
    outbound: { allowedHosts: input.allowedHosts, ...(input.lookup ? { lookup: input.lookup } : {}) },
    ...(input.signal ? { signal: input.signal } : {}),
  });
  const names = result.ok ? Object.keys(result.variables) : [];
  // Values are the customer's data: only their count and names leave this function.
  const summary = {
    ok: result.ok,
    ...(result.ok ? {} : { reason: result.reason }),
    latencyMs: result.latencyMs,
    variableCount: names.length,
  };
  if (result.ok) input.log.info({ preCallContext: summary }, 'pre-call context received');
  else input.log.warn({ preCallContext: summary }, 'pre-call context failed; the call goes on without it');
  input.journal?.record({
    seq: PRE_CALL_EVENT_SEQ,
    atMs: 0,
    type: 'pre_call_context',
    ok: result.ok,
    latencyMs: result.latencyMs,
    variables: names,
    ...(result.ok ? {} : { code: result.code, reason: result.reason }),
  });
  if (!result.ok) return call.variables;
  const fetched = Object.fromEntries(names.map((name) => [name, String(result.variables[name])]));
  return { ...call.variables, ...fetched };
}
