export { errorOutcome, okOutcome, type ToolErrorCode, type ToolOutcome } from './tool-outcome.js';
export { validateArguments, type ArgumentsCheck } from './arguments-validator.js';
export {
  buildWebhookRequest,
  credentialHeader,
  maskedWebhookRequest,
  SECRET_MASK,
  WebhookRequestError,
  type CallVariables,
  type CredentialHeader,
  type WebhookRequest,
  type WebhookRequestInput,
} from './webhook-request.js';
export { compactBody, MAX_ERROR_BODY_CHARS, MAX_RESULT_CHARS, truncateForModel } from './webhook-outcome.js';
export {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_TOOL_RESPONSE_BYTES,
  MAX_RETRY_AFTER_MS,
  sendWebhook,
  webhookDeadlineMs,
  type OutboundOptions,
  type SentWebhook,
  type WebhookErrorCode,
  type WebhookRunRecord,
} from './send-webhook.js';
export {
  prepareWebhookRequest,
  runWebhookFunction,
  SENT_CONTENT,
  type PreparedWebhookRequest,
  type RunWebhookFunctionInput,
} from './run-webhook-function.js';
export { MAX_SHOWN_BODY_BYTES, testWebhookFunction } from './test-webhook-function.js';
export { currentTime, type CurrentTime } from './current-time.js';
export {
  builtinFunctionDefinition,
  builtinParametersSchema,
  runBuiltinFunction,
  type BuiltinFunctionDefinition,
  type HandOffRequest,
  type RunBuiltinFunctionInput,
} from './builtin-functions.js';
