// Hears the end of an answering machine's greeting on carriers whose detection reports only the
// verdict (Plivo, Vobiz): a message said at the verdict would be recorded from the beep on, its start
// lost over the rest of the greeting. The greeting is taken as over once the callee's side has been
// quiet for a settled time after its last speech, as the call's VAD hears it; a beep is not speech to
// the VAD, so the quiet after the beep counts. A machine that never goes quiet gets the message anyway
// after an upper bound, rather than never.
import type { CallEvent, Clock, TimerHandle } from '@parley/voice';

/** Quiet after the callee's last speech that ends the greeting: longer than a pause between sentences. */
export const GREETING_SETTLED_SILENCE_MS = 1_000;
/** From the verdict: the message is said by then even if the line never went quiet. */
export const GREETING_MAX_WAIT_MS = 20_000;

/** Why the wait ended: the line went quiet, or the upper bound passed. */
export type GreetingEndCause = 'silence' | 'max_wait';

export interface GreetingEndWatchOptions {
  clock: Clock;
  /** Called once, when the greeting is taken as over after `start()`. */
  onEnded: (ended: { cause: GreetingEndCause; waitedMs: number }) => void;
  settledSilenceMs?: number;
  maxWaitMs?: number;
}

/**
 * One call's watch. It follows the callee's speech from the start of the call (so that a verdict
 * arriving mid-sentence knows the machine is talking), and once started waits for the greeting's end.
 */
export class GreetingEndWatch {
  private readonly settledSilenceMs: number;
  private readonly maxWaitMs: number;
  private speaking = false;
  /** When the callee last stopped speaking (null: not heard yet). */
  private quietSinceMs: number | null = null;
  private startedAtMs: number | null = null;
  private settleTimer: TimerHandle | null = null;
  private maxTimer: TimerHandle | null = null;
  private done = false;

  constructor(private readonly options: GreetingEndWatchOptions) {
    this.settledSilenceMs = options.settledSilenceMs ?? GREETING_SETTLED_SILENCE_MS;
    this.maxWaitMs = options.maxWaitMs ?? GREETING_MAX_WAIT_MS;
  }

  /** Whether it is waiting for the greeting's end. */
  get waiting(): boolean {
    return this.startedAtMs !== null && !this.done;
  }

  /** Feeds the call's events; only the callee's speech starting and stopping matter. */
  onEvent(event: CallEvent): void {
    if (this.done) return;
    if (event.type === 'user.speech.started') {
      this.speaking = true;
      this.cancelSettle();
    } else if (event.type === 'user.speech.stopped') {
      this.speaking = false;
      this.quietSinceMs = this.options.clock.now();
      if (this.startedAtMs !== null) this.armSettle();
    }
  }

  /** The machine verdict: waits for the greeting's end (once; later calls change nothing). */
  start(): void {
    if (this.done || this.startedAtMs !== null) return;
    this.startedAtMs = this.options.clock.now();
    this.maxTimer = this.options.clock.setTimer(this.maxWaitMs, () => this.finish('max_wait'));
    this.armSettle();
  }

  /** Stops waiting without calling back (the call ended, or the message was started otherwise). */
  cancel(): void {
    this.done = true;
    this.cancelSettle();
    this.maxTimer?.cancel();
    this.maxTimer = null;
  }

  private armSettle(): void {
    this.cancelSettle();
    if (this.speaking) return;
    // Quiet since the last speech heard; a machine not heard at all yet is measured from the verdict.
    const quietSinceMs = this.quietSinceMs ?? this.startedAtMs!;
    const remainingMs = this.settledSilenceMs - (this.options.clock.now() - quietSinceMs);
    this.settleTimer = this.options.clock.setTimer(remainingMs, () => this.finish('silence'));
  }

  private cancelSettle(): void {
    this.settleTimer?.cancel();
    this.settleTimer = null;
  }

  private finish(cause: GreetingEndCause): void {
    if (this.done) return;
    const waitedMs = this.options.clock.now() - this.startedAtMs!;
    this.cancel();
    this.options.onEnded({ cause, waitedMs });
  }
}
