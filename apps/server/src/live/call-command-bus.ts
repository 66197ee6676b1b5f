// How a command for a live call reaches the runtime process carrying it (DESIGN §1): every runtime
// listens on its own id, and whoever holds a command for a call sends it to the id on the call's
// record. In one process the bus is a map of listeners; across processes it is Redis pub/sub.
import type { FastifyBaseLogger } from 'fastify';
import { describeError } from '../logger.js';
import type { CallCommand } from './call-commands.js';

export type CallCommandHandler = (command: CallCommand) => void | Promise<void>;

/** Stops the listener it was returned for; other listeners of the same runtime go on. */
export type Unsubscribe = () => Promise<void>;

export interface CallCommandBus {
  /**
   * Hands `command` to the listeners of `runtimeId`, never in the caller's own stack. Resolves once
   * it is on its way, not once it has been handled; a runtime nobody listens for simply never gets
   * it. Rejects when the bus is closed or cannot reach its broker.
   */
  send(runtimeId: string, command: CallCommand): Promise<void>;
  /** Calls `handler` with every command sent to `runtimeId` from now on, until unsubscribed. */
  listen(runtimeId: string, handler: CallCommandHandler): Promise<Unsubscribe>;
  /** Stops every listener and releases what the bus holds; sending afterwards rejects. */
  close(): Promise<void>;
}

export class CallCommandBusClosedError extends Error {
  constructor() {
    super('the call command bus is closed');
    this.name = 'CallCommandBusClosedError';
  }
}

/**
 * Runs one handler on one command; a handler that throws is logged (the command's type and call id
 * only) and never reaches the bus or the other listeners.
 */
export async function deliverCallCommand(
  handler: CallCommandHandler,
  command: CallCommand,
  logger: FastifyBaseLogger,
): Promise<void> {
  try {
    await handler(command);
  } catch (error) {
    logger.error(
      { error: describeError(error), commandType: command.type, callId: command.callId },
      'call command handler failed',
    );
  }
}
