// What the carrier routes do with an answering-machine verdict once its callback is verified and its
// status applied: tell the voice runtime carrying the call, in this process or another (over the call
// command bus), which hangs up or leaves the agent's voicemail message. A call no runtime has claimed
// yet only has the verdict on its record; applyCarrierStatus still ends it as voicemail.
import type { CarrierStatusUpdate } from '@parley/telephony';
import { sendCallCommand } from '../live/send-call-command.js';
import type { TelephonyEnv } from './telephony-env.js';

export async function actOnMachineVerdict(
  env: TelephonyEnv,
  callId: string,
  update: CarrierStatusUpdate,
): Promise<void> {
  if (update.answeredBy !== 'machine') return;
  // A carrier that says nothing of the greeting (Plivo, Vobiz) never will: the runtime listens for it.
  const greetingEnded = update.machineGreetingEnded ?? 'unknown';
  const sent = await sendCallCommand(env, { type: 'machine_answered', callId, greetingEnded });
  if (sent === 'not_carried') {
    env.logger.info(
      { callId },
      'answered by a machine; no runtime carries the call, so only its record says so',
    );
  }
}
