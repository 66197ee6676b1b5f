// What the carrier routes share: the service dependencies, the voice runtime carrying the calls, the
// bus that reaches whichever runtime carries a call, and the lookups every carrier needs (its
// credential's secrets, the public URLs it must be given).
import type { FastifyBaseLogger } from 'fastify';
import {
  chooseCallRuntime,
  DEFAULT_RUNTIME_STALE_AFTER_MS,
  nowOf,
  operatorOrgContext,
  resolveCredentialSecret,
  type OrgContext,
  type ServiceDeps,
} from '@parley/services';
import type { CallCommandBus } from '../live/call-command-bus.js';
import type { VoiceRuntime } from './voice-runtime.js';

export interface TelephonyEnv {
  deps: ServiceDeps;
  runtime: VoiceRuntime;
  /** The process's call command bus (the one `runtime` listens on): how routes act on live calls. */
  commands: CallCommandBus;
  logger: FastifyBaseLogger;
}

export { nowOf };

/** The server itself acting in a call's organization (no user is behind a carrier's request). */
export async function systemOrgContext(deps: ServiceDeps, organizationId: string): Promise<OrgContext> {
  const system = { ...deps, actor: { type: 'system' as const, label: 'telephony' }, clientIp: null };
  return operatorOrgContext(system, organizationId);
}

/** The decrypted values of a carrier credential (auth token, API key), for checking and calling it. */
export async function carrierSecret(
  deps: ServiceDeps,
  organizationId: string,
  credentialId: string,
): Promise<Record<string, string>> {
  return resolveCredentialSecret(await systemOrgContext(deps, organizationId), credentialId);
}

/** The public URL with a WebSocket scheme: where carriers open media sockets when no runtime has its own. */
export function mediaBaseUrl(deps: ServiceDeps): string {
  return deps.publicUrl.replace(/^http/, 'ws');
}

/** This process's runtime as the choice of a runtime sees it: its id and its own media URL, if any. */
export interface OwnRuntime {
  runtimeId: string;
  /** PARLEY_RUNTIME_URL as a WebSocket URL; null: the public URL. */
  mediaUrl: string | null;
}

/**
 * Where this process's media sockets are reached (what carriers sign Twilio's media upgrade over, and
 * where a stream replaced for keypad tones must come back to).
 */
export function ownMediaBaseUrl(deps: ServiceDeps, own: OwnRuntime | null): string {
  return own?.mediaUrl ?? mediaBaseUrl(deps);
}

/**
 * Where a new call's media socket should go: this process's runtime unless it is draining, otherwise
 * the least-loaded live runtime that is not (see pickCallRuntime). Null when every runtime is draining
 * or gone: the carrier must be given its refusal and the call ended as `no_runtime_available`.
 */
export async function mediaBaseForNewCall(deps: ServiceDeps, own: OwnRuntime | null): Promise<string | null> {
  const chosen = await chooseCallRuntime(deps.db, {
    self: own ? { runtimeId: own.runtimeId, mediaUrl: own.mediaUrl } : null,
    now: nowOf(deps),
    staleAfterMs: deps.runtimeStaleAfterMs ?? DEFAULT_RUNTIME_STALE_AFTER_MS,
  });
  return chosen ? (chosen.mediaUrl ?? mediaBaseUrl(deps)) : null;
}
