// How a route acts on a live call wherever it runs: the call's record names the runtime carrying it,
// and the command goes there over the bus (this process's runtime included, by the same path).
import { findCallRuntime, type ServiceDeps } from '@parley/services';
import type { FastifyBaseLogger } from 'fastify';
import { describeError } from '../logger.js';
import type { CallCommandBus } from './call-command-bus.js';
import type { CallCommand } from './call-commands.js';

export interface CallCommandSender {
  deps: Pick<ServiceDeps, 'db'>;
  commands: CallCommandBus;
  logger: FastifyBaseLogger;
}

/**
 * Sends `command` to the runtime carrying its call. Answers `sent`, `not_carried` when no runtime has
 * claimed the call (it is still ringing), or `failed` when the bus could not take it (logged here).
 */
export async function sendCallCommand(
  env: CallCommandSender,
  command: CallCommand,
): Promise<'sent' | 'not_carried' | 'failed'> {
  const runtimeId = await findCallRuntime(env.deps.db, command.callId);
  if (runtimeId === null) return 'not_carried';
  try {
    await env.commands.send(runtimeId, command);
    return 'sent';
  } catch (error) {
    env.logger.warn(
      { error: describeError(error), callId: command.callId, commandType: command.type, runtimeId },
      'call command not sent',
    );
    return 'failed';
  }
}
