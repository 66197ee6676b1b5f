// What the carrier routes do with an answering-machine verdict once its callback is verified and its
// status applied: tell this process's voice runtime, which hangs up or leaves the agent's voicemail
// message. A runtime in another process never hears of it (no command crosses processes yet): there
// the verdict only marks the record, and applyCarrierStatus still ends the call as voicemail.
import type { CarrierStatusUpdate } from '@parley/telephony';
import type { TelephonyEnv } from './telephony-env.js';

export function actOnMachineVerdict(env: TelephonyEnv, callId: string, update: CarrierStatusUpdate): void {
  if (update.answeredBy !== 'machine') return;
  // A carrier that says nothing of the greeting (Plivo, Vobiz) never will: the runtime listens for it.
  const greetingEnded = update.machineGreetingEnded ?? 'unknown';
  if (!env.runtime.answeredByMachine(callId, { greetingEnded })) {
    env.logger.info(
      { callId },
      'answered by a machine; the call is not carried here, so only its record says so',
    );
  }
}
