// What the model is told about a webhook's answer: the body, compacted and bounded, or an error it can
// explain to the caller. Never the URL, its query string or a header value: those carry secrets.
import type { OutboundErrorCode } from '../outbound/outbound-error.js';
import { errorOutcome, okOutcome, type ToolOutcome } from './tool-outcome.js';

/** The model reads at most this much of a response; longer ones are cut with a note. */
export const MAX_RESULT_CHARS = 4000;
/** How much of an error response's body the model sees. */
export const MAX_ERROR_BODY_CHARS = 500;

/** A JSON body compacted (`JSON.stringify` of its parse), any other text as it is. */
export function compactBody(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text.trim();
  }
}

export function truncateForModel(text: string, maxChars = MAX_RESULT_CHARS): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}…(truncated: the response was ${text.length} characters)`;
}

export function responseOutcome(functionName: string, status: number, body: Buffer): ToolOutcome {
  const text = compactBody(body);
  if (status >= 200 && status < 300) {
    return okOutcome(text === '' ? '{"status":"ok"}' : truncateForModel(text));
  }
  return errorOutcome(
    'failed',
    `The ${functionName} service answered ${status}`,
    text === '' ? {} : { body: text.slice(0, MAX_ERROR_BODY_CHARS) },
  );
}

const FAILURE_MESSAGES: Record<Exclude<OutboundErrorCode, 'timeout'>, string> = {
  invalid_url: 'the tool’s address is not a valid URL',
  invalid_request: 'the tool’s request is not valid (check its headers)',
  address_refused: 'the tool’s address is not allowed (it points to a private or local network)',
  host_not_found: 'the tool’s host name could not be found',
  connection_failed: 'the service could not be reached',
  aborted: 'the request was cancelled',
  response_too_large: 'the service’s response was too large',
  too_many_redirects: 'the service redirected too many times',
};

export function failureOutcome(
  functionName: string,
  code: OutboundErrorCode,
  timeoutMs: number,
): ToolOutcome {
  if (code === 'timeout') {
    return errorOutcome('timeout', `The ${functionName} service did not answer within ${timeoutMs} ms`);
  }
  return errorOutcome('failed', `The ${functionName} request failed: ${FAILURE_MESSAGES[code]}`);
}
