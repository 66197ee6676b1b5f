// Carries out a supervisor's command on a call this runtime carries, and records it on the call's
// timeline first (a `control.*` event, with text lengths only: what is said is in the transcript), so
// that what the caller heard afterwards can be explained.
import type { LiveCallControlCommand } from '@parley/contracts';
import type { LiveCall } from '../telephony/assemble-call.js';

/** The call's end reason when a supervisor hangs up (at once, or after a `say` with `hangUpAfter`). */
export const SUPERVISOR_HANGUP = 'supervisor_hangup';
/**
 * The session's reason for the hang-up that carries out an arranged transfer: the call-actions leg
 * transfers instead of hanging up only on the agent's own goodbye (see CallActionsLeg).
 */
const TRANSFER_HANGUP = 'agent_hangup';

export function controlLiveCall(
  live: Pick<LiveCall, 'session' | 'actions'>,
  command: LiveCallControlCommand,
): void {
  const { session } = live;
  switch (command.type) {
    case 'hang_up':
      session.recordControl({ type: 'control.hang_up' });
      void session.hangUp(SUPERVISOR_HANGUP);
      return;
    case 'say':
      session.recordControl({
        type: 'control.say',
        chars: command.text.length,
        interrupt: command.interrupt,
        hangUpAfter: command.hangUpAfter,
      });
      session.say(command.text, {
        interrupt: command.interrupt,
        ...(command.hangUpAfter ? { hangUpAfter: true, endReason: SUPERVISOR_HANGUP } : {}),
      });
      return;
    case 'inject':
      session.recordControl({
        type: 'control.inject',
        role: command.role,
        chars: command.content.length,
        respond: command.respond,
      });
      session.appendContext(command.role, command.content);
      if (command.respond) session.respond();
      return;
    case 'transfer':
      transfer(live, command);
      return;
    case 'mute':
      session.recordControl({ type: 'control.mute' });
      session.mute();
      return;
    case 'unmute':
      session.recordControl({ type: 'control.unmute' });
      session.unmute();
      return;
  }
}

/**
 * A cold transfer arranged like the agent's hand-off: the announcement (if any) is said, stopping what
 * the agent was saying, and the transfer is made once it has been heard; without one, at once. A call
 * whose carrier control cannot transfer (no credential, a carrier without the capability) is left as
 * it is, and its timeline says so.
 */
function transfer(
  { session, actions }: Pick<LiveCall, 'session' | 'actions'>,
  command: Extract<LiveCallControlCommand, { type: 'transfer' }>,
): void {
  const { handOff } = command;
  if (!actions.canTransfer) {
    session.recordControl({ type: 'control.transfer', handOff, status: 'unavailable' });
    return;
  }
  // The hand-off path arranges the pending transfer the leg's hang-up carries out; its reason and
  // summary are for a model's hand-off and stay empty here.
  actions.handOff({ number: command.to, message: command.message, reason: '', summary: '' });
  if (command.message) {
    session.recordControl({ type: 'control.transfer', handOff, status: 'announcing' });
    session.say(command.message, { interrupt: true, hangUpAfter: true, endReason: TRANSFER_HANGUP });
    return;
  }
  session.recordControl({ type: 'control.transfer', handOff, status: 'transferring' });
  void session.hangUp(TRANSFER_HANGUP);
}
