export {
  classifyAddress,
  describeRefusal,
  type AddressClass,
  type AddressRefusalReason,
} from './address-policy.js';
export { isHostAllowed } from './host-allow-list.js';
export { OutboundRequestError, type OutboundErrorCode } from './outbound-error.js';
export { type HostLookup } from './resolve-target.js';
export {
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_OUTBOUND_TIMEOUT_MS,
  guardedFetch,
  type GuardedRequestOptions,
  type GuardedResponse,
} from './guarded-request.js';
