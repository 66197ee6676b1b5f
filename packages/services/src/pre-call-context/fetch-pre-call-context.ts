// The pre-call context hook: as a call starts, the customer's server is told who is calling which
// agent, and the JSON object it answers becomes variables for the prompt and first message. It never
// holds a call up: whatever goes wrong, the answer is a short, safe reason and the call goes on with
// the variables it already has.
import { VARIABLE_NAME, type PreCallContextConfig } from '@parley/contracts';
import { guardedFetch, type GuardedResponse } from '../outbound/guarded-request.js';
import { OutboundRequestError, type OutboundErrorCode } from '../outbound/outbound-error.js';
import type { OutboundOptions } from '../tool-execution/send-webhook.js';
import { hookHeaders } from '../outbound/hook-headers.js';

export type PreCallVariables = Record<string, string | number | boolean>;

/** What the customer's server is told about the call. Numbers are personal data: sent, never logged. */
export interface PreCallCallFacts {
  id: string;
  direction: 'inbound' | 'outbound' | 'web';
  from: string | null;
  to: string | null;
  agentId: string | null;
  agentVersion: number | null;
}

export interface FetchPreCallContextInput {
  config: Pick<PreCallContextConfig, 'url' | 'headers' | 'credentialId' | 'timeoutMs'>;
  call: PreCallCallFacts;
  /** The call's own variables, sent so the server can use them (a CRM id given when dialling). */
  variables: Readonly<Record<string, string | number | boolean>>;
  /** The decrypted values of a credential of the call's organization (`secret`, `headerName`). */
  credentials: (credentialId: string) => Promise<Record<string, string>>;
  outbound?: Omit<OutboundOptions, 'maxResponseBytes'>;
  /** The call's signal: a call that ends while the hook is asked stops waiting for it. */
  signal?: AbortSignal;
}

export type PreCallContextErrorCode =
  OutboundErrorCode | 'credential_unavailable' | 'http_status' | 'not_json' | 'not_an_object';

export type PreCallContextResult =
  | { ok: true; variables: PreCallVariables; latencyMs: number }
  | { ok: false; code: PreCallContextErrorCode; reason: string; latencyMs: number };

export const MAX_PRE_CALL_VARIABLES = 100;
export const MAX_PRE_CALL_VALUE_CHARS = 2000;
/** Names as long as a call's own variable names may be. */
export const MAX_PRE_CALL_NAME_CHARS = 100;
/** A hundred values of 2000 characters, with room for the JSON around them. */
export const MAX_PRE_CALL_RESPONSE_BYTES = 256 * 1024;
/** Deeper objects than this are not flattened: a name of more parts is no template variable anyone writes. */
const MAX_DEPTH = 8;

export async function fetchPreCallContext(input: FetchPreCallContextInput): Promise<PreCallContextResult> {
  const started = performance.now();
  const elapsedMs = () => Math.round(performance.now() - started);
  const fail = (code: PreCallContextErrorCode, reason: string): PreCallContextResult => ({
    ok: false,
    code,
    reason,
    latencyMs: elapsedMs(),
  });
  const { config, call } = input;

  const built = await hookHeaders(config, input.credentials);
  if (!built.ok) return fail('credential_unavailable', built.reason);
  const { headers } = built;

  let response: GuardedResponse;
  try {
    response = await guardedFetch(config.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ call, variables: input.variables }),
      timeoutMs: config.timeoutMs,
      maxResponseBytes: MAX_PRE_CALL_RESPONSE_BYTES,
      ...(input.outbound?.allowedHosts ? { allowedHosts: input.outbound.allowedHosts } : {}),
      ...(input.outbound?.lookup ? { lookup: input.outbound.lookup } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
    });
  } catch (error) {
    // The guard's messages name the host and the fault, never the path, query or headers.
    if (error instanceof OutboundRequestError) return fail(error.code, error.message);
    return fail('connection_failed', 'the request could not be sent');
  }
  if (response.status < 200 || response.status > 299) {
    return fail('http_status', `answered HTTP ${response.status}`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(response.body.toString('utf8'));
  } catch {
    return fail('not_json', 'the answer is not JSON');
  }
  if (!isObject(answer)) return fail('not_an_object', 'the answer is not a JSON object');
  return { ok: true, variables: answerVariables(answer), latencyMs: elapsedMs() };
}

/**
 * The variables in an answer: `{"variables": {...}}` when the answer has a `variables` object (its
 * other keys are ignored), otherwise the answer itself. Strings, numbers and booleans become variables,
 * nested objects flatten with dots (`{"customer":{"name":"Ada"}}` gives `customer.name`), arrays and
 * nulls are skipped, as are names that are not variable names; values are cut to 2000 characters and
 * the first 100 variables are kept.
 */
export function answerVariables(answer: Readonly<Record<string, unknown>>): PreCallVariables {
  const source = isObject(answer['variables']) ? answer['variables'] : answer;
  const variables: PreCallVariables = {};
  let count = 0;
  const visit = (object: Readonly<Record<string, unknown>>, prefix: string, depth: number): void => {
    for (const [key, value] of Object.entries(object)) {
      if (count >= MAX_PRE_CALL_VARIABLES) return;
      const name = prefix + key;
      if (!VARIABLE_NAME.test(name) || name.length > MAX_PRE_CALL_NAME_CHARS) continue;
      if (typeof value === 'string') {
        variables[name] = value.slice(0, MAX_PRE_CALL_VALUE_CHARS);
      } else if (typeof value === 'number' || typeof value === 'boolean') {
        variables[name] = value;
      } else {
        if (isObject(value) && depth < MAX_DEPTH) visit(value, `${name}.`, depth + 1);
        continue;
      }
      count += 1;
    }
  };
  visit(source, '', 1);
  return variables;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
