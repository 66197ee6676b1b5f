export {
  fetchAssistantRequest,
  MAX_ASSISTANT_RESPONSE_BYTES,
  MAX_FIRST_MESSAGE_CHARS,
  MAX_SYSTEM_PROMPT_CHARS,
  parseAssistantAnswer,
  type AssistantAnswer,
  type AssistantRequestBody,
  type AssistantRequestErrorCode,
  type AssistantRequestResult,
  type FetchAssistantRequestInput,
} from './fetch-assistant-request.js';
export {
  ASSISTANT_OVERRIDES_KEY,
  ASSISTANT_REQUEST_EVENT_SEQ,
  askAssistantRequest,
  assistantOverridesOf,
  storedAssistantRequest,
  type AssistantOverrides,
  type AssistantRequestCall,
  type AssistantRequestEnv,
  type AssistantRequestEvent,
  type AssistantRequestLog,
  type AssistantRequestOutcomeCode,
  type InboundCallPlan,
} from './ask-assistant-request.js';
export { planInboundCall, plannedCallValues, recordInboundPlan } from './plan-inbound-call.js';
