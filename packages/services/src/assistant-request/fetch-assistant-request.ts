// The inbound "assistant request" hook, on the wire: before a call to a number is answered, the
// customer's server is told who calls which number and may answer with another agent, variables, and
// a first message or system prompt for this call only. The carrier is waiting for our answer, so the
// wait is short and every failure is a safe code and reason: the caller then gets the number's agent.
import type { AssistantRequestConfig } from '@parley/contracts';
import { guardedFetch, type GuardedResponse } from '../outbound/guarded-request.js';
import { isHostAllowed } from '../outbound/host-allow-list.js';
import { OutboundRequestError, type OutboundErrorCode } from '../outbound/outbound-error.js';
import type { HostLookup } from '../outbound/resolve-target.js';
import { answerVariables, type PreCallVariables } from '../pre-call-context/fetch-pre-call-context.js';
import { hookHeaders } from '../outbound/hook-headers.js';

/** What the customer's server is told. Numbers are personal data: sent, never logged. */
export interface AssistantRequestBody {
  type: 'assistant_request';
  call: {
    direction: 'inbound';
    carrier: string;
    /** The carrier's id of the call, to match what the carrier's own logs show. */
    carrierCallId: string;
    from: string;
    to: string;
    phoneNumberId: string;
  };
  /** The number's own agent: the one that takes the call unless the answer names another. */
  agentId: string;
}

/** An answer that was understood. Every field is optional: `{}` means "the number's agent, as is". */
export interface AssistantAnswer {
  agentId?: string;
  variables: PreCallVariables;
  firstMessage?: string;
  systemPrompt?: string;
}

export type AssistantRequestErrorCode =
  | OutboundErrorCode
  | 'insecure_url'
  | 'credential_unavailable'
  | 'http_status'
  | 'not_json'
  | 'not_an_object'
  | 'invalid_answer';

export type AssistantRequestResult =
  | { ok: true; answer: AssistantAnswer; latencyMs: number }
  | { ok: false; code: AssistantRequestErrorCode; reason: string; latencyMs: number };

export interface FetchAssistantRequestInput {
  config: Pick<AssistantRequestConfig, 'url' | 'headers' | 'credentialId' | 'timeoutMs'>;
  body: AssistantRequestBody;
  /** The decrypted values of a credential of the number's organization (`secret`, `headerName`). */
  credentials: (credentialId: string) => Promise<Record<string, string>>;
  /** The operator's allow-list: hosts reached whatever they resolve to, and the only ones over http. */
  allowedHosts: readonly string[];
  lookup?: HostLookup;
}

/** As long as an agent's first message and system prompt may be. */
export const MAX_FIRST_MESSAGE_CHARS = 2000;
export const MAX_SYSTEM_PROMPT_CHARS = 100_000;
/** A full system prompt, a hundred variables and the JSON around them. */
export const MAX_ASSISTANT_RESPONSE_BYTES = 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function fetchAssistantRequest(
  input: FetchAssistantRequestInput,
): Promise<AssistantRequestResult> {
  const started = performance.now();
  const fail = (code: AssistantRequestErrorCode, reason: string): AssistantRequestResult => ({
    ok: false,
    code,
    reason,
    latencyMs: Math.round(performance.now() - started),
  });
  const { config } = input;

  // The request carries the caller's number: in clear text only to a host the operator vouched for.
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    return fail('invalid_url', 'the URL is not valid');
  }
  if (url.protocol === 'http:' && !isHostAllowed(url.hostname, input.allowedHosts)) {
    return fail('insecure_url', `http is only for hosts the operator allows; use https for ${url.host}`);
  }

  const built = await hookHeaders(config, input.credentials);
  if (!built.ok) return fail('credential_unavailable', built.reason);
  const { headers } = built;

  let response: GuardedResponse;
  try {
    response = await guardedFetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(input.body),
      timeoutMs: config.timeoutMs,
      maxResponseBytes: MAX_ASSISTANT_RESPONSE_BYTES,
      // Never followed: a redirect would carry the call's numbers on to a URL nobody configured (plain
      // http included), and the carrier is waiting for our answer anyway.
      maxRedirects: 0,
      allowedHosts: input.allowedHosts,
      ...(input.lookup ? { lookup: input.lookup } : {}),
    });
  } catch (error) {
    // The guard's messages name the host and the fault, never the path, query or headers.
    if (error instanceof OutboundRequestError) return fail(error.code, error.message);
    return fail('connection_failed', 'the request could not be sent');
  }
  if (response.status < 200 || response.status > 299) {
    return fail('http_status', `answered HTTP ${response.status}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(response.body.toString('utf8'));
  } catch {
    return fail('not_json', 'the answer is not JSON');
  }
  const parsed = parseAssistantAnswer(json);
  if (!parsed.ok) return fail(parsed.code, parsed.reason);
  return { ok: true, answer: parsed.answer, latencyMs: Math.round(performance.now() - started) };
}

/**
 * Reads the customer's answer. `agentId` must be an id, `variables` an object (flattened and cut as
 * the pre-call hook's are), `firstMessage` and `systemPrompt` strings no longer than an agent's; an
 * absent or null field leaves that part as the number's agent has it, and other fields are ignored.
 * A field of the wrong type makes the whole answer invalid: half an answer would be a surprise.
 */
export function parseAssistantAnswer(
  answer: unknown,
):
  | { ok: true; answer: AssistantAnswer }
  | { ok: false; code: 'not_an_object' | 'invalid_answer'; reason: string } {
  if (!isObject(answer))
    return { ok: false, code: 'not_an_object', reason: 'the answer is not a JSON object' };
  const invalid = (reason: string) => ({ ok: false as const, code: 'invalid_answer' as const, reason });
  const parsed: AssistantAnswer = { variables: {} };

  const { agentId, variables, firstMessage, systemPrompt } = answer;
  if (agentId !== undefined && agentId !== null) {
    if (typeof agentId !== 'string' || !UUID.test(agentId)) {
      return invalid('`agentId` must be the id of an agent (a UUID)');
    }
    parsed.agentId = agentId.toLowerCase();
  }
  if (variables !== undefined && variables !== null) {
    if (!isObject(variables)) return invalid('`variables` must be an object');
    parsed.variables = answerVariables({ variables });
  }
  const text = (name: string, value: unknown, max: number): string | undefined | Error => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.length > max) {
      return new Error(`\`${name}\` must be a string of at most ${max} characters`);
    }
    return value;
  };
  const first = text('firstMessage', firstMessage, MAX_FIRST_MESSAGE_CHARS);
  if (first instanceof Error) return invalid(first.message);
  if (first !== undefined) parsed.firstMessage = first;
  const prompt = text('systemPrompt', systemPrompt, MAX_SYSTEM_PROMPT_CHARS);
  if (prompt instanceof Error) return invalid(prompt.message);
  if (prompt !== undefined) parsed.systemPrompt = prompt;
  return { ok: true, answer: parsed };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
