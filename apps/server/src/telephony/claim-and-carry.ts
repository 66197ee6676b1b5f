// The moment every carrier's media route reaches once its stream has started: the stream presents the
// call's single-use media token, and only with it is the call claimed by this runtime and carried
// until it ends. What a refused stream gets differs by carrier (a hang-up, or only the socket closed),
// so the route says how to refuse.
import { claimCallMedia, ServiceError, type ClaimedCall } from '@parley/services';
import type { CallTransport } from '@parley/voice';
import { nowOf, type TelephonyEnv } from './telephony-env.js';

export interface StreamClaim {
  callId: string;
  /** The token the stream's start echoed back ('' when it had none). */
  mediaToken: string;
  carrier: string;
  /** True only on the simulated media socket: each opens only its own kind of call (claimCallMedia). */
  simulated: boolean;
}

/** Claims the call for this runtime and carries it; a token that is not the call's gets `refuse` only. */
export async function claimAndCarry(
  env: TelephonyEnv,
  claim: StreamClaim,
  transport: CallTransport,
  refuse: () => unknown,
): Promise<void> {
  let claimed: ClaimedCall;
  try {
    claimed = await claimCallMedia(
      env.deps.db,
      { ...claim, runtimeId: env.runtime.runtimeId },
      nowOf(env.deps),
    );
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    await refuse();
    return;
  }
  await env.runtime.runCall(claimed, transport);
}
