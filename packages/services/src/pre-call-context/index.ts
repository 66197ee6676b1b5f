export {
  answerVariables,
  fetchPreCallContext,
  MAX_PRE_CALL_NAME_CHARS,
  MAX_PRE_CALL_RESPONSE_BYTES,
  MAX_PRE_CALL_VALUE_CHARS,
  MAX_PRE_CALL_VARIABLES,
  type FetchPreCallContextInput,
  type PreCallCallFacts,
  type PreCallContextErrorCode,
  type PreCallContextResult,
  type PreCallVariables,
} from './fetch-pre-call-context.js';
