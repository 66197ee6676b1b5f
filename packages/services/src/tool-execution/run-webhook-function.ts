// Running a webhook function for the model: arguments checked against the schema first (no request for
// wrong ones), the request built, then sent with retries, or sent in the background when the tool is
// fire-and-forget. Every path ends in an outcome the model can read, never a throw or a hang.
import type { WebhookSettings } from '@parley/contracts';
import { validateArguments } from './arguments-validator.js';
import { sendWebhook, type OutboundOptions, type WebhookRunRecord } from './send-webhook.js';
import { errorOutcome, okOutcome } from './tool-outcome.js';
import {
  buildWebhookRequest,
  WebhookRequestError,
  type CallVariables,
  type CredentialHeader,
  type WebhookRequest,
} from './webhook-request.js';

export interface RunWebhookFunctionInput {
  functionName: string;
  /** The function's arguments schema. */
  parameters: Record<string, unknown>;
  webhook: WebhookSettings;
  /** The model's arguments, parsed from its JSON. */
  arguments: unknown;
  variables?: CallVariables;
  credential?: CredentialHeader;
  /** The turn's signal (barge-in, hang-up). A fire-and-forget request does not listen to it. */
  signal?: AbortSignal;
  outbound?: OutboundOptions;
  /** Fire-and-forget only: how the background request ended, for the call's events. */
  onSettled?: (record: WebhookRunRecord) => void;
  backoffBaseMs?: number;
}

/** The model is told this at once when a fire-and-forget request is on its way. */
export const SENT_CONTENT = '{"status":"sent"}';

export async function runWebhookFunction(input: RunWebhookFunctionInput): Promise<WebhookRunRecord> {
  const started = performance.now();
  const elapsedMs = () => Math.round(performance.now() - started);
  const prepared = prepareWebhookRequest(input);
  if (!prepared.ok) return { ...prepared.record, latencyMs: elapsedMs() };
  const send = (signal: AbortSignal | undefined) =>
    sendWebhook(prepared.request, {
      functionName: input.functionName,
      webhook: input.webhook,
      ...(signal ? { signal } : {}),
      ...(input.outbound ? { outbound: input.outbound } : {}),
      ...(input.backoffBaseMs === undefined ? {} : { backoffBaseMs: input.backoffBaseMs }),
    });
  if (!input.webhook.async) return (await send(input.signal)).record;
  // Barge-in ends the turn, not the errand the caller asked for: the background request is bounded by
  // its own timeouts, not by the turn's signal.
  void send(undefined).then(
    ({ record }) => settle(input.onSettled, record),
    () => undefined,
  );
  return { outcome: okOutcome(SENT_CONTENT), attempts: 0, latencyMs: elapsedMs() };
}

function settle(onSettled: ((record: WebhookRunRecord) => void) | undefined, record: WebhookRunRecord): void {
  try {
    onSettled?.(record);
  } catch {
    // The listener's failure is its own; a background request has nobody else to report to.
  }
}

export type PreparedWebhookRequest =
  { ok: true; request: WebhookRequest } | { ok: false; record: Omit<WebhookRunRecord, 'latencyMs'> };

/** Arguments validated and the request built, or the record of why nothing will be sent. */
export function prepareWebhookRequest(
  input: Pick<
    RunWebhookFunctionInput,
    'functionName' | 'parameters' | 'webhook' | 'arguments' | 'variables' | 'credential'
  >,
): PreparedWebhookRequest {
  const checked = validateArguments(input.functionName, input.parameters, input.arguments);
  if (!checked.ok) {
    return {
      ok: false,
      record: {
        outcome: checked.outcome,
        attempts: 0,
        errorCode:
          checked.outcome.status === 'error' && checked.outcome.code === 'invalid_arguments'
            ? 'invalid_arguments'
            : 'unexpected_error',
      },
    };
  }
  try {
    return {
      ok: true,
      request: buildWebhookRequest({
        functionName: input.functionName,
        webhook: input.webhook,
        arguments: checked.arguments,
        ...(input.variables ? { variables: input.variables } : {}),
        ...(input.credential ? { credential: input.credential } : {}),
      }),
    };
  } catch (error) {
    if (!(error instanceof WebhookRequestError)) throw error;
    return {
      ok: false,
      record: {
        outcome: errorOutcome('failed', error.message),
        attempts: 0,
        errorCode: error.code,
      },
    };
  }
}
