// What the carrier routes share: the service dependencies, the voice runtime carrying the calls, the
// bus that reaches whichever runtime carries a call, and the lookups every carrier needs (its
// credential's secrets, the public URLs it must be given).
import type { FastifyBaseLogger } from 'fastify';
import {
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

export { nowOf } from '@parley/services';

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

/** The public URL with a WebSocket scheme: what carriers are told to open media sockets to. */
export function mediaBaseUrl(deps: ServiceDeps): string {
  return deps.publicUrl.replace(/^http/, 'ws');
}
