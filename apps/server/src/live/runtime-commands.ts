// The runtime's side of the bus: what a command asks of the voice runtime carrying the call.
import type { LiveCallControlCommand } from '@parley/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type { CallCommandBus, Unsubscribe } from './call-command-bus.js';
import type { CallCommand } from './call-commands.js';

/** What a runtime offers the commands (VoiceRuntime's methods of the same names). */
export interface CallCommandTarget {
  carrierEnded(callId: string): void;
  /** False when this runtime is not carrying the call. */
  answeredByMachine(callId: string, verdict: { greetingEnded: boolean | 'unknown' }): boolean;
  /** Supervisor listen: `listenerId` listens to the call (or renews its lease), or has stopped. */
  listenToCall(callId: string, listenerId: string): void;
  stopListeningToCall(callId: string, listenerId: string): void;
  /** A supervisor's call control; false when this runtime is not carrying the call. */
  controlCall(command: LiveCallControlCommand): boolean;
}

export function dispatchCallCommand(
  target: CallCommandTarget,
  command: CallCommand,
  logger: FastifyBaseLogger,
): void {
  switch (command.type) {
    case 'carrier_ended':
      target.carrierEnded(command.callId);
      return;
    case 'machine_answered':
      if (!target.answeredByMachine(command.callId, { greetingEnded: command.greetingEnded })) {
        // The call ended here before the verdict came, or its record names a runtime it has left.
        logger.info(
          { callId: command.callId },
          'answered by a machine; the call is not carried here, so only its record says so',
        );
      }
      return;
    case 'listen':
      target.listenToCall(command.callId, command.listenerId);
      return;
    case 'listen_stop':
      target.stopListeningToCall(command.callId, command.listenerId);
      return;
    case 'hang_up':
    case 'say':
    case 'inject':
    case 'transfer':
    case 'mute':
    case 'unmute':
      if (!target.controlCall(command)) {
        // The call ended between the request's check and the command's arrival.
        logger.info(
          { callId: command.callId, commandType: command.type },
          'call control for a call not carried here: ignored',
        );
      }
      return;
    default: {
      // A command added to the union without a case here fails the type check.
      const unhandled: never = command;
      void unhandled;
    }
  }
}

/** Hands every command sent to `runtimeId` to `target`, until the returned function is called. */
export function listenForCallCommands(
  bus: CallCommandBus,
  runtimeId: string,
  target: CallCommandTarget,
  logger: FastifyBaseLogger,
): Promise<Unsubscribe> {
  return bus.listen(runtimeId, (command) => dispatchCallCommand(target, command, logger));
}
