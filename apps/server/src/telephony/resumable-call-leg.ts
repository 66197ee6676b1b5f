// A call's media leg whose stream the carrier may replace mid-call. Twilio plays keypad tones only by
// replacing the call's TwiML: the agent's `<Connect><Stream>` ends (`stop`, then the socket closes),
// the tones play, and a new stream connects to the same call (see TwilioCallControl's resumeStream).
// The session must live through that: the old stream's end is not the caller hanging up, and what the
// agent says meanwhile cannot be heard, so it is dropped and its marks count as played at once (the
// output waits for marks to know what was heard, and would otherwise wait forever). The new stream
// takes over when the route hands it in (`resume`); if it never comes, the call fails.
import { CALLER_HUNG_UP, systemClock } from '@parley/voice';
import type { CarrierCallControl } from '@parley/telephony';
import type { CallTransport, Clock, TimerHandle, TransportCapabilities, TransportEvent } from '@parley/voice';
import { liveCallControl, type LiveCallControl } from './call-actions.js';

/** The session's end reason when a replaced stream never came back. */
export const STREAM_NOT_RESUMED = 'stream_not_resumed';
/** Tones take a few seconds at most; a stream that is not back by then is not coming. */
const DEFAULT_RESUME_TIMEOUT_MS = 15_000;

export interface ResumableCallLegOptions {
  /** How long a replaced stream may take to end and come back. Default 15 s. */
  resumeTimeoutMs?: number;
  clock?: Clock;
  /** The replaced stream did not come back in time: the call is ending as failed. */
  onResumeFailed?: () => void;
  /** Ending the call at the carrier after that failed (the caller may hear silence until it ends). */
  onCarrierHangUpFailed?: (error: unknown) => void;
}

export class ResumableCallLeg implements CallTransport {
  private inner: CallTransport;
  /** Whether `inner`'s stream is still live (false between the old stream's end and the new one). */
  private attached = true;
  /** The carrier was asked to replace the stream, and the new one has not arrived yet. */
  private expecting = false;
  /** The old stream's end, held back while a new stream is expected. */
  private heldHangUp: TransportEvent | null = null;
  private ended = false;
  private failed = false;
  private timer: TimerHandle | null = null;
  private listener: ((event: TransportEvent) => void) | null = null;
  /** Marks sent on the current stream and not echoed yet, oldest first. */
  private unechoed: string[] = [];
  private carrierHangUp: (() => Promise<void>) | null = null;
  private readonly clock: Clock;
  private readonly resumeTimeoutMs: number;

  constructor(
    transport: CallTransport,
    private readonly options: ResumableCallLegOptions = {},
  ) {
    this.inner = transport;
    this.clock = options.clock ?? systemClock;
    this.resumeTimeoutMs = options.resumeTimeoutMs ?? DEFAULT_RESUME_TIMEOUT_MS;
  }

  get inputFormat() {
    return this.inner.inputFormat;
  }
  get outputFormat() {
    return this.inner.outputFormat;
  }
  get capabilities(): TransportCapabilities {
    return this.inner.capabilities;
  }
  /** The replaced stream never came back: the call failed. */
  get resumeFailed(): boolean {
    return this.failed;
  }

  /** How to end the call at the carrier if its stream never comes back. */
  endAtCarrierOnFailure(hangUp: () => Promise<void>): void {
    this.carrierHangUp = hangUp;
  }

  /**
   * The carrier is about to replace the stream: its end is not a hang-up, and a new stream may take
   * over (`resume`). Called before the carrier is asked, since the old stream may end before the
   * carrier's answer arrives.
   */
  expectResume(): void {
    if (this.ended) return;
    this.expecting = true;
    this.arm();
  }

  /** The carrier refused to replace the stream: an end of the old stream now is the call's end. */
  cancelResume(): void {
    if (!this.expecting) return;
    this.expecting = false;
    this.timer?.cancel();
    const held = this.heldHangUp;
    this.heldHangUp = null;
    if (held) this.report(held);
  }

  /**
   * The carrier reports the call over (a final status callback). While a replacement stream was
   * awaited, the old stream's end was held back as maybe-not-a-hang-up; now it is the call's end, at
   * once rather than when the wait times out. Otherwise the stream's own end speaks for itself.
   */
  carrierEnded(): void {
    if (this.ended || !this.expecting) return;
    this.expecting = false;
    this.timer?.cancel();
    const held = this.heldHangUp ?? { type: 'hangup', reason: CALLER_HUNG_UP };
    this.heldHangUp = null;
    this.report(held);
  }

  /** The carrier's new stream for this call; false when none is expected (the call ended, say). */
  resume(transport: CallTransport): boolean {
    if (this.ended || !this.expecting) return false;
    const old = this.inner;
    // Whatever the old stream still had queued will never play.
    this.echoUnechoed();
    // Its socket is over or about to be; close it without a word to the session.
    void old.hangUp('stream_replaced').catch(() => {});
    this.inner = transport;
    this.attached = true;
    this.expecting = false;
    this.heldHangUp = null;
    this.timer?.cancel();
    if (this.listener) this.listen(transport);
    return true;
  }

  setListener(listener: (event: TransportEvent) => void): void {
    this.listener = listener;
    this.listen(this.inner);
  }

  sendAudio(audio: Uint8Array): void {
    // Between streams the tones are playing: nobody would hear it.
    if (this.attached) this.inner.sendAudio(audio);
  }

  sendMark(name: string): void {
    if (this.attached) {
      this.unechoed.push(name);
      this.inner.sendMark(name);
      return;
    }
    // Not synchronously: the output sending the mark does not expect its echo inside the call.
    queueMicrotask(() => {
      if (!this.ended) this.listener?.({ type: 'mark', name });
    });
  }

  clear(): void {
    // The carrier echoes the marks a clear discards; between streams there is nothing to clear.
    if (this.attached) this.inner.clear();
  }

  hangUp(reason: string): Promise<void> {
    this.ended = true;
    this.expecting = false;
    this.timer?.cancel();
    return this.inner.hangUp(reason);
  }

  private listen(transport: CallTransport): void {
    transport.setListener((event) => {
      // A replaced stream's last words (its close, late marks) are not the call's any more.
      if (transport === this.inner) this.onEvent(event);
    });
  }

  private onEvent(event: TransportEvent): void {
    if (event.type === 'mark') {
      const index = this.unechoed.indexOf(event.name);
      if (index !== -1) this.unechoed.splice(index, 1);
    } else if (event.type === 'hangup' && this.expecting && this.attached) {
      this.attached = false;
      this.heldHangUp = event;
      this.echoUnechoed();
      this.arm();
      return;
    }
    this.report(event);
  }

  private report(event: TransportEvent): void {
    if (this.ended) return;
    if (event.type === 'hangup') {
      this.ended = true;
      this.timer?.cancel();
    }
    this.listener?.(event);
  }

  private echoUnechoed(): void {
    const marks = this.unechoed;
    this.unechoed = [];
    for (const name of marks) this.report({ type: 'mark', name });
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimer(this.resumeTimeoutMs, () => this.onResumeTimeout());
  }

  private onResumeTimeout(): void {
    this.timer = null;
    if (!this.expecting) return;
    this.expecting = false;
    // The old stream never ended: the carrier did not replace it after all, and the call goes on.
    if (this.attached) return;
    this.failed = true;
    this.heldHangUp = null;
    this.report({ type: 'hangup', reason: STREAM_NOT_RESUMED });
    this.options.onResumeFailed?.();
    this.carrierHangUp?.().catch((error: unknown) => this.options.onCarrierHangUpFailed?.(error));
  }
}

/**
 * Binds a carrier's control to the call for the agent's actions, through its resumable leg: a keypad
 * request the carrier refuses withdraws the stream replacement it announced, and a stream that never
 * comes back ends the call at the carrier.
 */
export function resumableCallControl(
  control: Pick<CarrierCallControl, 'capabilities' | 'transfer' | 'sendDtmf' | 'hangUp'>,
  carrierCallId: string,
  leg: ResumableCallLeg,
): LiveCallControl {
  const live = liveCallControl(control, carrierCallId);
  leg.endAtCarrierOnFailure(() => control.hangUp(carrierCallId));
  return {
    ...live,
    sendDtmf: async (digits) => {
      try {
        await live.sendDtmf(digits);
      } catch (error) {
        leg.cancelResume();
        throw error;
      }
    },
  };
}
