// The agent's hands on the phone call itself, offered to the model as functions: `end_call` (the
// call hangs up once the goodbye that follows has been heard), `transfer_call` to one of the agent's
// named destinations (a cold transfer: the caller is connected there and the agent leaves) and
// `send_dtmf` (keypad tones, to work an automated menu at the far end). Only what the agent enables
// and the call's carrier can do is offered, so the model never reaches for an action that cannot work.
//
// A transfer is carried out when the agent hangs up after announcing it, not when the model asks for
// it: on most carriers a transfer takes the call away from the media stream at once, which would cut
// the announcement off. The leg's hang-up (see `CallActionsLeg`) does the transfer instead.
import type { CarrierCallControl } from '@parley/telephony';
import { LEAVING_TRANSFERRED_CALL, parseToolArguments } from '@parley/voice';
import type {
  CallTransport,
  ToolDefinition,
  ToolExecutor,
  ToolInvocation,
  ToolOutcome,
  TransportCapabilities,
  TransportEvent,
} from '@parley/voice';

export interface TransferDestinationSetup {
  name: string;
  /** E.164; personal data of the business's staff at most, but never logged anyway. */
  number: string;
  description: string;
  /** Said as written before the transfer; empty lets the model announce it in its own words. */
  message: string;
}

/** The agent's call actions with their texts rendered for this call. */
export interface CallActionsSetup {
  endCall: boolean;
  transferDestinations: readonly TransferDestinationSetup[];
  sendDtmf: boolean;
}

/** What the call's carrier lets us do to this live call (its REST call control, bound to the call). */
export interface LiveCallControl {
  readonly canTransfer: boolean;
  readonly canSendDtmf: boolean;
  transfer(to: string): Promise<void>;
  sendDtmf(digits: string): Promise<void>;
}

/** Keypad digits, and `w`/`W` for a half-second/one-second pause (the carriers' common dialect). */
const DTMF = /^[0-9*#wW]{1,32}$/;

export const END_CALL_TOOL = 'end_call';
/** The session's reason when the agent hangs up after speaking (see CallSession). */
const AGENT_HANGUP = 'agent_hangup';
export const TRANSFER_CALL_TOOL = 'transfer_call';
export const SEND_DTMF_TOOL = 'send_dtmf';
/** What a hand-off's transfer is called in the call's ending (it has no named destination). */
export const HAND_OFF_DESTINATION = 'hand_off';

/** A hand-off to a person (the agent's `hand_off` built-in), carried out as a transfer. */
export interface HandOffTransfer {
  /** E.164. */
  number: string;
  /** Said as written before the transfer; empty lets the model announce it. */
  message: string;
  /** For the person taking the call: recorded on the call with the tool's result. */
  reason: string;
  summary: string;
}

export class CallActionTools implements ToolExecutor {
  private readonly offered: readonly ToolDefinition[];
  /** The transfer the agent announced; carried out when it hangs up. */
  private pending: TransferDestinationSetup | null = null;

  constructor(
    private readonly setup: CallActionsSetup,
    private readonly control: LiveCallControl | null,
  ) {
    this.offered = this.buildDefinitions();
  }

  definitions(): readonly ToolDefinition[] {
    return this.offered;
  }

  /** Whether the call's carrier can transfer it (a hand-off is offered only then). */
  get canTransfer(): boolean {
    return this.control?.canTransfer ?? false;
  }

  /**
   * Arranges a transfer to a hand-off's number, carried out like `transfer_call`'s when the agent
   * hangs up after announcing it. The reason and summary are in the result's content, so the call's
   * `tool.result` event records them for whoever takes over.
   */
  handOff(request: HandOffTransfer): ToolOutcome {
    if (!this.canTransfer) {
      return {
        status: 'error',
        code: 'failed',
        content: 'This call cannot be transferred. Tell the caller and offer to help otherwise.',
      };
    }
    this.pending = {
      name: HAND_OFF_DESTINATION,
      number: request.number,
      description: '',
      message: request.message,
    };
    const next =
      'The caller will be transferred to a person as soon as you have finished speaking.' +
      (request.message ? '' : ' Tell the caller briefly that you are transferring them now.');
    const content = JSON.stringify({ handoff: { reason: request.reason, summary: request.summary }, next });
    if (request.message) return { status: 'ok', content, say: request.message, endCall: true };
    return { status: 'ok', content, endCall: true };
  }

  /** The transfer to make instead of a plain hang-up, taken once. */
  takePendingTransfer(): TransferDestinationSetup | null {
    const transfer = this.pending;
    this.pending = null;
    return transfer;
  }

  async execute({ call }: ToolInvocation): Promise<ToolOutcome> {
    if (!this.offered.some((tool) => tool.name === call.name)) {
      return { status: 'error', code: 'unknown_tool', content: `There is no tool named ${call.name}.` };
    }
    if (call.name === END_CALL_TOOL) {
      // Ending the call supersedes a transfer announced earlier (say, one the caller talked over).
      this.pending = null;
      return {
        status: 'ok',
        content:
          'The call ends as soon as you have finished your next words. Say a short goodbye now, ' +
          'or nothing if you have already said it.',
        endCall: true,
      };
    }
    const parsed = parseToolArguments(call);
    if (!parsed.ok) return parsed.outcome;
    return call.name === TRANSFER_CALL_TOOL ? this.transfer(parsed.args) : this.sendDtmf(parsed.args);
  }

  private transfer(args: Record<string, unknown>): ToolOutcome {
    const name = args['destination'];
    const destination = this.setup.transferDestinations.find((d) => d.name === name);
    if (!destination) {
      const names = this.setup.transferDestinations.map((d) => d.name).join(', ');
      return {
        status: 'error',
        code: 'invalid_arguments',
        content: `destination must be one of: ${names}.`,
      };
    }
    this.pending = destination;
    const content = `The caller will be transferred to ${destination.name} as soon as you have finished speaking.`;
    if (destination.message) return { status: 'ok', content, say: destination.message, endCall: true };
    return {
      status: 'ok',
      content: `${content} Tell the caller briefly that you are transferring them now.`,
      endCall: true,
    };
  }

  private async sendDtmf(args: Record<string, unknown>): Promise<ToolOutcome> {
    const digits = args['digits'];
    if (typeof digits !== 'string' || !DTMF.test(digits)) {
      return {
        status: 'error',
        code: 'invalid_arguments',
        content: 'digits must be 1 to 32 of 0-9, * and #, with w (half a second) or W (a second) to pause.',
      };
    }
    try {
      await this.control!.sendDtmf(digits);
    } catch {
      // The carrier's error may name the account or the number; the model only needs to know.
      return { status: 'error', code: 'failed', content: 'The keys could not be pressed.' };
    }
    return { status: 'ok', content: `Pressed ${digits}.` };
  }

  private buildDefinitions(): ToolDefinition[] {
    const tools: ToolDefinition[] = [];
    if (this.setup.endCall) {
      tools.push({
        name: END_CALL_TOOL,
        description:
          'Hang up the call. Use it when the conversation is over: the caller said goodbye, asked to ' +
          'end the call, or there is nothing more to do. The call ends after your next words.',
        parameters: {
          type: 'object',
          properties: { reason: { type: 'string', description: 'Why the call is ending.' } },
        },
      });
    }
    const destinations = this.setup.transferDestinations;
    if (destinations.length > 0 && this.control?.canTransfer) {
      const list = destinations
        .map((d) => `- ${d.name}${d.description ? `: ${d.description}` : ''}`)
        .join('\n');
      tools.push({
        name: TRANSFER_CALL_TOOL,
        description:
          'Transfer the caller to a person or team and leave the call. Use it when the caller asks for ' +
          `one of these or needs what only they can give:\n${list}`,
        parameters: {
          type: 'object',
          properties: {
            destination: { type: 'string', enum: destinations.map((d) => d.name) },
            reason: { type: 'string', description: 'Why the caller is being transferred.' },
          },
          required: ['destination'],
        },
      });
    }
    if (this.setup.sendDtmf && this.control?.canSendDtmf) {
      tools.push({
        name: SEND_DTMF_TOOL,
        description:
          'Press keys on the phone keypad, to choose options in an automated phone menu at the other end.',
        parameters: {
          type: 'object',
          properties: {
            digits: {
              type: 'string',
              pattern: DTMF.source,
              description: 'The keys, e.g. "1" or "1234#"; w waits half a second, W a second.',
            },
          },
          required: ['digits'],
        },
      });
    }
    return tools;
  }
}

/** Binds a carrier's call control to one live call. */
export function liveCallControl(
  control: Pick<CarrierCallControl, 'capabilities' | 'transfer' | 'sendDtmf'>,
  carrierCallId: string,
): LiveCallControl {
  return {
    canTransfer: control.capabilities.transfer,
    canSendDtmf: control.capabilities.sendDtmf,
    transfer: (to) => control.transfer(carrierCallId, to),
    sendDtmf: (digits) => control.sendDtmf(carrierCallId, digits),
  };
}

/** How a call leg ended from our side: hung up, handed over to a transfer destination, or neither. */
export type LegEnding =
  { kind: 'hung_up' } | { kind: 'transferred'; destination: string } | { kind: 'transfer_failed' };

/**
 * The call's transport, whose hang-up carries out an announced transfer first. After a transfer the
 * carrier moves the caller away from our media stream; the leg is then closed with
 * LEAVING_TRANSFERRED_CALL, which the carrier transports take as "leave the call, do not end it".
 */
export class CallActionsLeg implements CallTransport {
  private endingOfLeg: LegEnding | null = null;

  constructor(
    private readonly inner: CallTransport,
    private readonly actions: CallActionTools,
    private readonly control: LiveCallControl | null,
    private readonly onTransferFailed: (error: unknown) => void,
  ) {}

  get inputFormat() {
    return this.inner.inputFormat;
  }
  get outputFormat() {
    return this.inner.outputFormat;
  }
  get capabilities(): TransportCapabilities {
    return this.inner.capabilities;
  }
  /** How the leg ended from our side (null while it has not, or when the far end hung up). */
  get ending(): LegEnding | null {
    return this.endingOfLeg;
  }

  setListener(listener: (event: TransportEvent) => void): void {
    this.inner.setListener(listener);
  }
  sendAudio(audio: Uint8Array): void {
    this.inner.sendAudio(audio);
  }
  sendMark(name: string): void {
    this.inner.sendMark(name);
  }
  clear(): void {
    this.inner.clear();
  }

  async hangUp(reason: string): Promise<void> {
    const transfer = this.actions.takePendingTransfer();
    // Only the agent's own goodbye carries a transfer out; a time limit or shutdown just ends the call.
    if (transfer && this.control && reason === AGENT_HANGUP) {
      try {
        await this.control.transfer(transfer.number);
        this.endingOfLeg = { kind: 'transferred', destination: transfer.name };
        await this.inner.hangUp(LEAVING_TRANSFERRED_CALL);
        return;
      } catch (error) {
        this.onTransferFailed(error);
        this.endingOfLeg = { kind: 'transfer_failed' };
      }
    }
    this.endingOfLeg ??= { kind: 'hung_up' };
    await this.inner.hangUp(reason);
  }
}
