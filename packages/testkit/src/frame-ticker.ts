// One timer for every simulated phone line in the process. Each line keeps its own absolute schedule
// (frame k due at t0 + 20·k ms); the ticker sleeps until the earliest deadline among them and lets
// every line that is due send its frames. Hundreds of callers then cost about one wake-up per
// millisecond instead of a timer each per frame, and a late wake-up never shifts later deadlines.
import type { Clock, TimerHandle } from '@parley/voice';

export interface TickerClient {
  /** Clock time the next frame of this line is due. */
  nextDueMs(): number;
  /**
   * Sends every frame due by `dueByMs` (all of them after a stall: a real line delivers the backlog);
   * `nowMs` is the wake-up time, for lateness.
   */
  onDue(nowMs: number, dueByMs: number): void;
}

/**
 * Frames due within this much of a wake-up go out with it, so lines whose deadlines are a fraction
 * of a millisecond apart share one wake-up (timers have 1 ms resolution anyway).
 */
const EARLY_TOLERANCE_MS = 1;

export class FrameTicker {
  private readonly clients = new Set<TickerClient>();
  private timer: TimerHandle | null = null;
  private timerDueMs = Infinity;
  /** Times the ticker woke up (for checking that many lines share it). */
  wakeUps = 0;

  constructor(private readonly clock: Clock) {}

  get clientCount(): number {
    return this.clients.size;
  }

  add(client: TickerClient): void {
    this.clients.add(client);
    if (client.nextDueMs() < this.timerDueMs) this.schedule();
  }

  remove(client: TickerClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) {
      this.timer?.cancel();
      this.timer = null;
      this.timerDueMs = Infinity;
    }
  }

  private schedule(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerDueMs = Infinity;
    let earliestMs = Infinity;
    for (const client of this.clients) earliestMs = Math.min(earliestMs, client.nextDueMs());
    if (earliestMs === Infinity) return;
    this.timerDueMs = earliestMs;
    this.timer = this.clock.setTimer(earliestMs - this.clock.now(), () => this.tick());
  }

  private tick(): void {
    this.timer = null;
    this.timerDueMs = Infinity;
    this.wakeUps++;
    const nowMs = this.clock.now();
    const dueByMs = nowMs + EARLY_TOLERANCE_MS;
    for (const client of this.clients) {
      if (client.nextDueMs() <= dueByMs) client.onDue(nowMs, dueByMs);
    }
    this.schedule();
  }
}

const tickers = new WeakMap<Clock, FrameTicker>();

/** The process-wide ticker for `clock` (one per clock, so a test's manual clock gets its own). */
export function sharedFrameTicker(clock: Clock): FrameTicker {
  let ticker = tickers.get(clock);
  if (!ticker) {
    ticker = new FrameTicker(clock);
    tickers.set(clock, ticker);
  }
  return ticker;
}
