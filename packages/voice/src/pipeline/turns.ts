// Per-turn cancellation. Every agent response (a model reply, a greeting, a reminder) is a turn with
// its own AbortController; an interruption aborts the live turns so their provider streams stop at
// once, and frames still in flight for an aborted turn are dropped wherever they are.

export interface AgentTurn {
  readonly id: number;
  readonly signal: AbortSignal;
}

export class TurnRegistry {
  private nextId = 1;
  private readonly live = new Map<number, AbortController>();
  /** Ids below this that are not live were aborted or finished; kept as a bound, not a set. */
  private readonly aborted = new Set<number>();

  begin(): AgentTurn {
    const id = this.nextId++;
    const controller = new AbortController();
    this.live.set(id, controller);
    return { id, signal: controller.signal };
  }

  /** The signal of a live turn, or an already-aborted one for a turn that is over. */
  signal(turnId: number): AbortSignal {
    return this.live.get(turnId)?.signal ?? AbortSignal.abort();
  }

  isLive(turnId: number): boolean {
    return this.live.has(turnId);
  }

  isAborted(turnId: number): boolean {
    return this.aborted.has(turnId);
  }

  /** The turn completed normally. */
  finish(turnId: number): void {
    this.live.delete(turnId);
  }

  abort(turnId: number, reason: string): void {
    const controller = this.live.get(turnId);
    if (!controller) return;
    this.live.delete(turnId);
    this.rememberAborted(turnId);
    controller.abort(new DOMException(reason, 'AbortError'));
  }

  /** Aborts every live turn; returns their ids. */
  abortAll(reason: string): number[] {
    const ids = [...this.live.keys()];
    for (const id of ids) this.abort(id, reason);
    return ids;
  }

  private rememberAborted(turnId: number): void {
    this.aborted.add(turnId);
    // Frames of a turn can only be in flight briefly; a bounded memory keeps long calls flat.
    if (this.aborted.size > 64) {
      const oldest = this.aborted.values().next().value;
      if (oldest !== undefined) this.aborted.delete(oldest);
    }
  }
}
