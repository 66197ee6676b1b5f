export * from './errors.js';
export * from './context.js';
export * from './permissions.js';
export { SecretBox, constantTimeEqual, hashToken, randomToken } from './secret-box.js';
export { readInstanceSettings } from './instance-settings.js';
export { signup, type SignedIn } from './auth/signup.js';
export { login } from './auth/login.js';
export { getMe } from './auth/me.js';
export { completeSetup, issueSetupLink, needsSetup } from './auth/setup.js';
export { authenticateSession, endSession, type AuthenticatedSession } from './auth/sessions.js';
export { enterOrganization } from './organizations/context.js';
export { createApiKey } from './api-keys/create-api-key.js';
export { getApiKey, listApiKeys } from './api-keys/read-api-keys.js';
export { revokeApiKey } from './api-keys/revoke-api-key.js';
export { authenticateApiKey } from './api-keys/authenticate-api-key.js';
export { createUserAsOperator, operatorOrgContext, setInstanceAdmin } from './admin/system.js';
export { createOrganization } from './organizations/create.js';
export { deleteOrganization, getOrganization, renameOrganization } from './organizations/manage.js';
export { transferOwnership } from './organizations/transfer.js';
export { changeMemberRole, listMembers, removeMember } from './organizations/members.js';
export { createInvitation, listInvitations, revokeInvitation } from './organizations/invitations.js';
export { acceptInvitation } from './organizations/accept-invitation.js';
export {
  listOrganizationsAsAdmin,
  reactivateOrganization,
  suspendOrganization,
} from './admin/organizations.js';
export { getInstanceSettings, updateInstanceSettings } from './admin/settings.js';
export { listAuditLog } from './audit-log/audit-log.js';
export * from './idempotency.js';
export { createCredential } from './credentials/create-credential.js';
export { listCredentials } from './credentials/list-credentials.js';
export { getCredential } from './credentials/get-credential.js';
export { updateCredential } from './credentials/update-credential.js';
export { deleteCredential } from './credentials/delete-credential.js';
export { resolveCredentialSecret } from './credentials/resolve-credential-secret.js';
export {
  rotateCredentialEncryption,
  type RotationResult,
} from './credentials/rotate-credential-encryption.js';
export { createAgent } from './agents/create-agent.js';
export { listAgents } from './agents/list-agents.js';
export { getAgent } from './agents/get-agent.js';
export { updateAgent } from './agents/update-agent.js';
export { deleteAgent } from './agents/delete-agent.js';
export { publishAgent, type Published } from './agents/publish-agent.js';
export { listAgentVersions } from './agents/list-agent-versions.js';
export { getAgentVersion } from './agents/get-agent-version.js';
export { restoreAgentVersion } from './agents/restore-agent-version.js';
export { listProviderCatalog } from './providers/list-provider-catalog.js';
export { createPhoneNumber } from './phone-numbers/create-phone-number.js';
export { listPhoneNumbers } from './phone-numbers/list-phone-numbers.js';
export { getPhoneNumber } from './phone-numbers/get-phone-number.js';
export { updatePhoneNumber } from './phone-numbers/update-phone-number.js';
export { deletePhoneNumber } from './phone-numbers/delete-phone-number.js';
export {
  resolveInboundRoute,
  type InboundRefusal,
  type InboundRoute,
} from './phone-numbers/resolve-inbound-route.js';
export { carrierWebhookPaths, carrierWebhooks } from './phone-numbers/carrier-webhooks.js';
export { CallJournal, type CallOutcome, type JournalEvent } from './calls/call-journal.js';
export { heartbeatRuntime, registerRuntime, sweepLostCalls } from './calls/runtime-registry.js';
export { beginInboundCall, MEDIA_TOKEN_TTL_MS, type InboundCallStart } from './calls/begin-inbound-call.js';
export { claimCallMedia, type ClaimedCall } from './calls/claim-call-media.js';
export { applyCarrierStatus, type CarrierStatus } from './calls/apply-carrier-status.js';
export { CALL_STATUSES, isFinalCallStatus, type CallStatus } from './calls/call-status.js';
export { findCallCarrier, type CallCarrier } from './calls/find-call-carrier.js';
export {
  DEFAULT_CALL_LIMITS,
  type CallDialer,
  type CallLimits,
  type DialRequest,
  type HangUpRequest,
} from './calls/call-dialer.js';
export { createOutboundCall } from './calls/create-outbound-call.js';
export { cancelCall } from './calls/cancel-call.js';
export { getCall } from './calls/get-call.js';
export { listCalls } from './calls/list-calls.js';
export { issueMediaToken } from './calls/issue-media-token.js';
export { rekeyCarrierCall } from './calls/rekey-carrier-call.js';
export {
  DEFAULT_DIAL_LOST_AFTER_MS,
  DEFAULT_RING_LOST_AFTER_MS,
  DIAL_LOST,
  DIALED_MEDIA_TOKEN_TTL_MS,
  NO_STATUS_FROM_CARRIER,
  sweepUnansweredCalls,
  type SweptCalls,
  type UnansweredCallSweep,
} from './calls/sweep-unanswered-calls.js';
export { beginSimulatedCall, type SimulatedCallStart } from './calls/begin-simulated-call.js';
export { getSimulatedCallReport, type SimulatedCallReport } from './calls/simulated-call-report.js';
export { resumeCallMedia } from './calls/resume-call-media.js';
export * from './outbound/index.js';
export * from './tools/index.js';
export * from './tool-execution/index.js';
export * from './mcp/index.js';
export * from './pre-call-context/index.js';
export * from './leads/index.js';
export { findCallRuntime } from './calls/find-call-runtime.js';
export { eraseCall } from './calls/erase-call.js';
export { exportCalls } from './calls/export-calls.js';
export { listCallEvents } from './calls/list-call-events.js';
export { getCallTranscript } from './calls/get-call-transcript.js';
export { openCallRecording, type CallRecordingFile } from './calls/open-call-recording.js';
export * from './webhooks/index.js';
export * from './analytics/index.js';
export * from './retention/purge-expired-call-data.js';
export { updateOrganization } from './organizations/manage.js';
export { listActiveCalls } from './calls/list-active-calls.js';
export { openLiveEvents, type LiveEventsFilter } from './calls/open-live-events.js';
export {
  DEFAULT_RUNTIME_STALE_AFTER_MS,
  unregisterRuntime,
  type RuntimeDetails,
} from './calls/runtime-registry.js';
export { listRuntimes } from './runtimes/list-runtimes.js';
export { drainRuntime } from './runtimes/drain-runtime.js';
export { resumeRuntime } from './runtimes/resume-runtime.js';
export {
  chooseCallRuntime,
  pickCallRuntime,
  type ChosenRuntime,
  type RuntimeChoice,
} from './runtimes/choose-call-runtime.js';
export { NO_RUNTIME_AVAILABLE, refuseCallWithoutRuntime } from './runtimes/refuse-call-without-runtime.js';
export { runtimeState, type RuntimeRow } from './runtimes/runtime-view.js';
export * from './assistant-request/index.js';
export { callStatusSnapshots, type CallStatusSnapshot } from './calls/call-status-snapshots.js';
export { controlCall, type CallCommandPort } from './calls/control-call.js';
export { checkCallListen, startCallListen, type CallListenTarget } from './calls/start-call-listen.js';
