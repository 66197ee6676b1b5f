// "Try it": a webhook function run once with sample arguments, showing the request as sent (secrets
// masked) and the answer, for `POST /tools/:id/test`. A fire-and-forget tool is waited for here: the
// point is to see its answer.
import type { ToolTestResult } from '@parley/contracts';
import type { IncomingHttpHeaders } from 'node:http';
import { prepareWebhookRequest, type RunWebhookFunctionInput } from './run-webhook-function.js';
import { sendWebhook } from './send-webhook.js';
import type { ToolOutcome } from './tool-outcome.js';
import { maskedWebhookRequest } from './webhook-request.js';

/** The response body shown back, at most. */
export const MAX_SHOWN_BODY_BYTES = 64 * 1024;

export async function testWebhookFunction(
  input: Omit<RunWebhookFunctionInput, 'onSettled'>,
): Promise<ToolTestResult> {
  const started = performance.now();
  const prepared = prepareWebhookRequest(input);
  if (!prepared.ok) {
    return {
      outcome: outcomeView(prepared.record.outcome),
      request: null,
      response: null,
      durationMs: Math.round(performance.now() - started),
    };
  }
  const { record, response } = await sendWebhook(prepared.request, {
    functionName: input.functionName,
    webhook: input.webhook,
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.outbound ? { outbound: input.outbound } : {}),
    ...(input.backoffBaseMs === undefined ? {} : { backoffBaseMs: input.backoffBaseMs }),
  });
  return {
    outcome: outcomeView(record.outcome),
    request: maskedWebhookRequest(prepared.request),
    response: response
      ? {
          status: response.status,
          headers: flatHeaders(response.headers),
          body: response.body.subarray(0, MAX_SHOWN_BODY_BYTES).toString('utf8'),
          truncated: response.body.length > MAX_SHOWN_BODY_BYTES,
        }
      : null,
    durationMs: record.latencyMs,
  };
}

function outcomeView(outcome: ToolOutcome): ToolTestResult['outcome'] {
  return {
    status: outcome.status,
    code: outcome.status === 'error' ? outcome.code : null,
    content: outcome.content,
  };
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
