// The session's view of a call leg, whatever carries it (a carrier media WebSocket, a browser, the
// in-memory transport of the tests). Carrier quirks stay in the carrier's serializer.
import type { AudioFormat } from '../audio/format.js';

export type TransportEvent =
  /** Caller audio, in `inputFormat`. */
  | { type: 'audio'; audio: Uint8Array }
  /** The far end finished playing everything sent before the mark (or a clear discarded it). */
  | { type: 'mark'; name: string }
  | { type: 'dtmf'; digit: string }
  /** The far end hung up or the connection closed. */
  | { type: 'hangup'; reason: string };

/** The reason of a `hangup` event when the far end hung up (the session records it as caller_hangup). */
export const CALLER_HUNG_UP = 'caller hung up';

/**
 * The `hangUp` reason after the call was handed to someone else (a transfer): our leg leaves, and a
 * transport that ends calls through its carrier's API must not end this one.
 */
export const LEAVING_TRANSFERRED_CALL = 'transferred';

export interface TransportCapabilities {
  /** The far end echoes marks; without it playback progress is estimated from the clock. */
  marks: boolean;
  sendDtmf: boolean;
  transfer: boolean;
}

export interface CallTransport {
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  readonly capabilities: TransportCapabilities;
  /** The session registers one listener before audio flows. */
  setListener(listener: (event: TransportEvent) => void): void;
  /** Sends audio in `outputFormat`; the far end plays it in order. */
  sendAudio(audio: Uint8Array): void;
  sendMark(name: string): void;
  /** Discards audio the far end has buffered but not yet played (barge-in). */
  clear(): void;
  sendDtmf?(digits: string): Promise<void>;
  transfer?(destination: string): Promise<void>;
  /** Ends the call from our side (or only leaves it: LEAVING_TRANSFERRED_CALL). */
  hangUp(reason: string): Promise<void>;
}
