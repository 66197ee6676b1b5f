// Call control over the wire: what a supervisor (or their program) may ask of a live call through
// `POST /api/v1/calls/:id/control`, what the API answers, and the command that travels over the event
// bus to the runtime carrying the call (the request with its defaults filled and a hand-off resolved).
import { z } from 'zod';
import { Id } from './common.js';
import { E164 } from './phone-numbers.js';

/** Longest text a supervisor may have the agent say. */
export const MAX_SAY_CHARS = 2000;
/** Longest message or instruction a supervisor may add to the agent's context. */
export const MAX_INJECT_CHARS = 4000;

export const CallControlBody = z
  .discriminatedUnion('type', [
    z
      .strictObject({ type: z.literal('hang_up') })
      .describe('Ends the call now (end reason `supervisor_hangup`).'),
    z
      .strictObject({
        type: z.literal('say'),
        text: z.string().trim().min(1, 'must not be empty').max(MAX_SAY_CHARS),
        interrupt: z
          .boolean()
          .default(true)
          .describe('Stop what the agent is saying first; otherwise the text follows it.'),
        hangUpAfter: z
          .boolean()
          .default(false)
          .describe('End the call once the text has been heard (end reason `supervisor_hangup`).'),
      })
      .describe('The agent says the text as written, in its voice; it becomes part of the conversation.'),
    z
      .strictObject({
        type: z.literal('inject'),
        role: z
          .enum(['system', 'user'])
          .describe('`system`: an instruction to the agent; `user`: a message as if the caller said it.'),
        content: z.string().trim().min(1, 'must not be empty').max(MAX_INJECT_CHARS),
        respond: z
          .boolean()
          .default(false)
          .describe(
            'Have the agent answer now (it stops what it is saying); otherwise from its next turn on.',
          ),
      })
      .describe('Adds a message or instruction to the agent’s context.'),
    z
      .strictObject({
        type: z.literal('transfer'),
        to: E164.describe('Where the caller is connected (a cold transfer: the agent leaves the call).'),
        message: z
          .string()
          .trim()
          .max(1000)
          .default('')
          .describe('Said to the caller before the transfer; none transfers at once.'),
      })
      .describe('Transfers the caller to a number (end reason `transferred`).'),
    z
      .strictObject({ type: z.literal('hand_off') })
      .describe('Transfers the caller to the person of the agent’s `hand_off` tool, with its message.'),
    z
      .strictObject({ type: z.literal('mute') })
      .describe('The agent stops speaking at once and says nothing of its own, but keeps listening.'),
    z.strictObject({ type: z.literal('unmute') }).describe('The agent answers the caller’s next turn again.'),
  ])
  .meta({ id: 'CallControl' });
export type CallControlBody = z.infer<typeof CallControlBody>;
export type CallControlType = CallControlBody['type'];

export const CallControlAccepted = z
  .object({
    callId: Id,
    /** The command as sent, defaults filled in. */
    command: CallControlBody,
  })
  .meta({ id: 'CallControlAccepted' });
export type CallControlAccepted = z.infer<typeof CallControlAccepted>;

const callId = z.uuid();

/**
 * A control command on its way to the runtime carrying the call (JSON over the bus, validated on
 * arrival). A hand-off arrives as a transfer to the agent's hand-off number.
 */
export const LiveCallControlCommand = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hang_up'), callId }),
  z.object({
    type: z.literal('say'),
    callId,
    text: z.string().min(1).max(MAX_SAY_CHARS),
    interrupt: z.boolean(),
    hangUpAfter: z.boolean(),
  }),
  z.object({
    type: z.literal('inject'),
    callId,
    role: z.enum(['system', 'user']),
    content: z.string().min(1).max(MAX_INJECT_CHARS),
    respond: z.boolean(),
  }),
  z.object({
    type: z.literal('transfer'),
    callId,
    to: E164,
    message: z.string().max(1000),
    handOff: z.boolean(),
  }),
  z.object({ type: z.literal('mute'), callId }),
  z.object({ type: z.literal('unmute'), callId }),
]);
export type LiveCallControlCommand = z.infer<typeof LiveCallControlCommand>;

/**
 * The carriers that can move a live call elsewhere (a cold transfer). Exotel cannot transfer a
 * streaming call by API; browser calls have no phone leg.
 */
export const TRANSFER_CARRIERS: readonly string[] = ['twilio', 'telnyx', 'plivo', 'vobiz'];
