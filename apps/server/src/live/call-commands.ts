// What one process may ask of the runtime carrying a live call. Commands cross process boundaries as
// JSON (Redis pub/sub), so each one is a plain object validated on arrival; a new command (hang_up,
// say, inject, transfer, mute) is one more member of the union and one more case in the dispatcher.
import { LiveCallControlCommand } from '@parley/contracts';
import { z } from 'zod';

const callId = z.uuid();

export const CallCommandSchema = z.discriminatedUnion('type', [
  /** The carrier reports the call over (a final status): a stream replacement it awaited will not come. */
  z.object({ type: z.literal('carrier_ended'), callId }),
  /** The carrier's answering-machine detection says a machine answered (see VoiceRuntime.answeredByMachine). */
  z.object({
    type: z.literal('machine_answered'),
    callId,
    greetingEnded: z.union([z.boolean(), z.literal('unknown')]),
  }),
  /** Supervisor listen: tap the call's audio for `listenerId`, or renew its lease (see CallListeners). */
  z.object({ type: z.literal('listen'), callId, listenerId: z.uuid() }),
  /** The listener went away: the last one to go untaps the call. */
  z.object({ type: z.literal('listen_stop'), callId, listenerId: z.uuid() }),
  /** A supervisor's call control (hang_up, say, inject, transfer, mute, unmute; see VoiceRuntime.controlCall). */
  ...LiveCallControlCommand.options,
]);

export type CallCommand = z.infer<typeof CallCommandSchema>;
export type CallCommandType = CallCommand['type'];

/** The command in `value`, or null when it is not one (unknown type, missing or malformed fields). */
export function parseCallCommand(value: unknown): CallCommand | null {
  const parsed = CallCommandSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
