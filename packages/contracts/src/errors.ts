import { z } from 'zod';

/**
 * Every error code the API returns, with its HTTP status and meaning. This table is the single source
 * for the status mapping (apps/server) and for the error documentation (docs/errors.md is generated
 * from it by a test that keeps the two in step).
 */
export const ERROR_CODES = {
  invalid_request: {
    status: 400,
    description: 'The request is malformed; `details` lists each offending field.',
  },
  invalid_json: { status: 400, description: 'The body is not valid JSON.' },
  unsupported_media_type: { status: 415, description: 'The body must be `application/json`.' },
  payload_too_large: { status: 413, description: 'The body is larger than the limit.' },
  unauthenticated: { status: 401, description: 'No valid session cookie or API key was presented.' },
  invalid_credentials: {
    status: 401,
    description: 'Email or password is wrong (the answer does not say which).',
  },
  api_key_invalid: { status: 401, description: 'The API key is unknown, revoked or expired.' },
  csrf_failed: {
    status: 403,
    description: 'A cookie-authenticated mutation lacked a matching `X-CSRF-Token` header.',
  },
  forbidden: { status: 403, description: "The caller's role or API-key scopes do not allow this action." },
  organization_suspended: {
    status: 403,
    description: 'The organization is suspended by the instance administrator.',
  },
  signup_disabled: { status: 403, description: 'Sign-up is disabled on this instance.' },
  not_found: { status: 404, description: 'No such route.' },
  organization_not_found: { status: 404, description: 'No such organization (or you are not a member).' },
  user_not_found: { status: 404, description: 'No such user.' },
  member_not_found: { status: 404, description: 'No such member in this organization.' },
  invitation_not_found: { status: 404, description: 'No such invitation, or it expired or was used.' },
  api_key_not_found: { status: 404, description: 'No such API key in this organization.' },
  credential_not_found: { status: 404, description: 'No such credential in this organization.' },
  agent_not_found: { status: 404, description: 'No such agent in this organization.' },
  agent_version_not_found: { status: 404, description: 'No such version of this agent.' },
  phone_number_not_found: { status: 404, description: 'No such phone number in this organization.' },
  call_not_found: { status: 404, description: 'No such call in this organization.' },
  recording_not_found: {
    status: 404,
    description:
      'The call has no stored recording (recording was off, it never connected, or it was erased).',
  },
  range_not_satisfiable: {
    status: 416,
    description:
      'The `Range` header asks for bytes outside the recording; `Content-Range: bytes */<size>` says its size.',
  },
  webhook_endpoint_not_found: {
    status: 404,
    description: 'No such webhook endpoint in this organization.',
  },
  webhook_delivery_not_found: {
    status: 404,
    description: 'No such webhook delivery in this organization.',
  },
  tool_not_found: {
    status: 404,
    description: 'No such tool in this organization or in the shared catalog.',
  },
  setup_token_invalid: { status: 404, description: 'The setup link is unknown or was already used.' },
  conflict: { status: 409, description: 'The request conflicts with the current state.' },
  email_taken: { status: 409, description: 'A user with this email already exists.' },
  already_member: { status: 409, description: 'The user is already a member of the organization.' },
  phone_number_taken: {
    status: 409,
    description: 'This number is already registered for this carrier on the instance (by any organization).',
  },
  tool_function_taken: {
    status: 409,
    description: 'Another tool of this organization already offers a function with this `functionName`.',
  },
  tool_in_use: {
    status: 409,
    description:
      'Agents (draft or published version) use this tool; `details.agentIds` lists them. Remove it from ' +
      'them first.',
  },
  tool_not_mcp: {
    status: 409,
    description:
      'Only an MCP tool discovers its functions; a webhook or built-in tool offers the one function it defines.',
  },
  call_in_progress: {
    status: 409,
    description: 'The call is in progress: hang it up first, then delete it.',
  },
  call_not_cancelable: {
    status: 409,
    description: 'Only a queued or ringing call can be canceled; this one was answered or is over.',
  },
  idempotency_key_reused: {
    status: 422,
    description: 'The `Idempotency-Key` was used before with a different request.',
  },
  invalid_config: {
    status: 422,
    description: 'The agent configuration is invalid; `details` lists each field.',
  },
  invalid_reference: {
    status: 422,
    description:
      'A field names an object that is not in this organization or cannot be used there (a credential of ' +
      'another provider, a deleted agent, an agent with no published version, a number without a credential, ' +
      'a variable the agent does not declare); `details` lists each field.',
  },
  credential_in_use: {
    status: 409,
    description:
      'Agents (draft or published) or phone numbers use this credential; `details.agentIds` and ' +
      '`details.phoneNumberIds` list them.',
  },
  agent_limit_reached: {
    status: 403,
    description: 'The organization has as many agents as this instance allows (`maxAgentsPerOrganization`).',
  },
  last_owner: { status: 409, description: 'The organization must keep exactly one owner.' },
  organization_limit_reached: {
    status: 403,
    description: 'You already own as many organizations as this instance allows (`maxOrganizationsPerUser`).',
  },
  rate_limited: { status: 429, description: 'Too many requests; retry after the `Retry-After` seconds.' },
  too_many_calls: {
    status: 429,
    description:
      'The organization has as many live calls (queued, ringing or in progress) as allowed; retry after ' +
      'the `Retry-After` seconds (also in `details.retryAfterSeconds`).',
  },
  call_rate_limited: {
    status: 429,
    description:
      'The organization placed as many calls in the last minute as allowed; retry after the `Retry-After` ' +
      'seconds (also in `details.retryAfterSeconds`), when the oldest of them leaves the window.',
  },
  dial_failed: {
    status: 502,
    description:
      'The carrier did not place the call; the call (`details.callId`) is `failed` with the carrier’s ' +
      'reason in `carrierReason`.',
  },
  hang_up_failed: {
    status: 502,
    description:
      'The carrier did not hang up the call; its status is unchanged. Retry, or check the carrier.',
  },
  telephony_unavailable: {
    status: 503,
    description:
      'This server cannot place or control calls (no telephony configured); a call it was asked to place ' +
      'is `failed` with end reason `telephony_unavailable`.',
  },
  runtime_not_found: {
    status: 404,
    description: 'No such runtime (it may have stopped and been forgotten).',
  },
  no_runtime_available: {
    status: 503,
    description:
      'Every voice runtime is draining or gone, so no new call can be carried; the call (`details.callId`) ' +
      'is `failed` with end reason `no_runtime_available`. Retry once a runtime takes calls again.',
  },
  call_not_live: {
    status: 409,
    description:
      'The call is not live: it is still queued or ringing, or it is over (`details.status` says which). ' +
      'Only a call in progress can be controlled or listened to.',
  },
  call_cannot_transfer: {
    status: 422,
    description:
      'This call cannot be transferred: its carrier (`details.transport`) cannot move a live call, or it ' +
      'has no phone leg (a browser call).',
  },
  hand_off_not_configured: {
    status: 422,
    description:
      'The call’s agent (the version the call runs) has no `hand_off` tool, so there is no person to hand ' +
      'the call to. Use a `transfer` with a number, or add a hand-off tool to the agent.',
  },
  call_control_unavailable: {
    status: 503,
    description:
      'The command could not be sent to the runtime carrying the call (the event bus is unreachable); the ' +
      'call is unchanged. Retry.',
  },
  websocket_required: {
    status: 426,
    description:
      'This route is a WebSocket (supervisor listen): open it with a WebSocket client, not a plain request.',
  },
  not_ready: { status: 503, description: 'The server is not ready (database unreachable or not migrated).' },
  internal_error: {
    status: 500,
    description: 'An unexpected error; the request id identifies it in the logs.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One offending field: where it is (a dotted path) and what is wrong with it. */
export const FieldIssue = z.object({ path: z.string(), message: z.string() });
export type FieldIssue = z.infer<typeof FieldIssue>;

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string(),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Turns zod issues into the `details` of an error body: one entry per offending field. */
export function fieldIssues(error: z.ZodError, prefix: string[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map(String)].join('.') || '(root)',
    message: issue.message,
  }));
}
