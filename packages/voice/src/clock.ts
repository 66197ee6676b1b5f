// Time for the real-time core. Everything that waits (pacing, endpointing, idle and dead-air timers)
// takes a Clock so tests drive time explicitly instead of sleeping, and the bench uses the real one.

/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional); only differences are meaningful. */
  now(): number;
  /** Runs `callback` once `delayMs` from now (at once for a delay ≤ 0, but never synchronously). */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

/** The process clock: performance.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
};

interface PendingTimer {
  dueAtMs: number;
  sequence: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `advance()` fires due timers in deadline order (ties in the
 * order they were set), lets microtasks settle after each one so promise chains a timer starts can set
 * further timers, and leaves `now()` at the target.
 */
export class ManualClock implements Clock {
  private currentMs: number;
  private sequence = 0;
  private readonly timers: PendingTimer[] = [];

  constructor(startMs = 0) {
    this.currentMs = startMs;
  }

  now(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: PendingTimer = {
      dueAtMs: this.currentMs + Math.max(0, delayMs),
      sequence: this.sequence++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers still waiting to fire. */
  get pendingTimerCount(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves time forward by `deltaMs`, firing every timer that falls due on the way. */
  async advance(deltaMs: number): Promise<void> {
    const targetMs = this.currentMs + deltaMs;
    await settle();
    for (;;) {
      const next = this.nextDue(targetMs);
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.currentMs = Math.max(this.currentMs, next.dueAtMs);
      next.callback();
      await settle();
    }
    this.currentMs = targetMs;
    await settle();
  }

  private nextDue(limitMs: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (let i = this.timers.length - 1; i >= 0; i--) {
      const timer = this.timers[i]!;
      if (timer.cancelled) {
        this.timers.splice(i, 1);
        continue;
      }
      if (timer.dueAtMs > limitMs) continue;
      if (
        !best ||
        timer.dueAtMs < best.dueAtMs ||
        (timer.dueAtMs === best.dueAtMs && timer.sequence < best.sequence)
      ) {
        best = timer;
      }
    }
    return best;
  }
}

/** Lets pending promise callbacks run (several macrotask-free turns of the microtask queue). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
