// Supervisor listen: how a live call's audio gets from the runtime carrying it to the processes whose
// WebSocket clients listen. Only calls someone asked to hear are published (the runtime taps a call
// on a `listen` command), on a channel per call: in one process a map of handlers, across processes
// Redis pub/sub with binary messages.
import type { FastifyBaseLogger } from 'fastify';
import { describeError } from '../logger.js';
import type { Unsubscribe } from './call-command-bus.js';

export type CallAudioMessage =
  /** The runtime has tapped the call (sent once per listener that joins; later ones are repeats). */
  | { type: 'start'; sampleRateHz: number }
  /** Interleaved stereo PCM16 little-endian: caller, agent, caller, agent, … */
  | { type: 'audio'; pcm: Buffer }
  /** The call ended (its end reason), or `call_not_live` when the runtime does not carry it. */
  | { type: 'end'; reason: string };

export type CallAudioHandler = (message: CallAudioMessage) => void;

export interface CallAudioRelay {
  /** Hands `message` to the call's subscribers, wherever they are; never throws (failures are logged). */
  publish(callId: string, message: CallAudioMessage): void;
  /** Calls `handler` with every message for `callId` from the moment the returned promise resolves. */
  subscribe(callId: string, handler: CallAudioHandler): Promise<Unsubscribe>;
  close(): Promise<void>;
}

/** Why the runtime named on a call's record answers a listen without audio. */
export const NOT_LIVE_REASON = 'call_not_live';

/** Runs one handler; one that throws is logged and never reaches the publisher (a live call). */
export function deliverCallAudio(
  handler: CallAudioHandler,
  message: CallAudioMessage,
  logger: FastifyBaseLogger,
): void {
  try {
    handler(message);
  } catch (error) {
    logger.warn({ error: describeError(error), messageType: message.type }, 'call audio listener failed');
  }
}

/** The relay of a single process (the embedded default): the runtime hands chunks to the handlers. */
export class InProcessCallAudioRelay implements CallAudioRelay {
  private readonly handlers = new Map<string, Set<CallAudioHandler>>();

  constructor(private readonly logger: FastifyBaseLogger) {}

  publish(callId: string, message: CallAudioMessage): void {
    const handlers = this.handlers.get(callId);
    if (!handlers) return;
    for (const handler of [...handlers]) deliverCallAudio(handler, message, this.logger);
  }

  subscribe(callId: string, handler: CallAudioHandler): Promise<Unsubscribe> {
    const listener: CallAudioHandler = (message) => handler(message);
    const handlers = this.handlers.get(callId) ?? new Set();
    handlers.add(listener);
    this.handlers.set(callId, handlers);
    return Promise.resolve(() => {
      handlers.delete(listener);
      if (handlers.size === 0 && this.handlers.get(callId) === handlers) this.handlers.delete(callId);
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}
