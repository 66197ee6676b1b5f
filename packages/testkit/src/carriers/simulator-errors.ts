// What a simulator fails at on its own, outside any call a test awaits (a document it fetches after
// answering a request, a stream it ends in the background, a request it could not handle). Swallowed,
// such a failure lets a test pass that should not: it is kept here, and the test checks the list is
// empty (an afterEach calling `throwIfAny()`).

/** One failure: what the simulator was doing, and why it failed. */
export interface SimulatorError {
  /** What the simulator was doing, e.g. `fetching the transfer document`. No personal data. */
  during: string;
  error: Error;
}

export class SimulatorErrors {
  readonly recorded: SimulatorError[] = [];

  constructor(private readonly label: string) {}

  record(during: string, error: unknown): void {
    this.recorded.push({ during, error: error instanceof Error ? error : new Error(String(error)) });
  }

  /** Lets `task` run in the background; a rejection is recorded instead of left unhandled. */
  watch(during: string, task: Promise<unknown>): void {
    task.catch((error: unknown) => this.record(during, error));
  }

  /**
   * Throws one error listing every failure recorded since the last call (the first as its cause), and
   * forgets them, so that the next test starts with none.
   */
  throwIfAny(): void {
    const failures = this.recorded.splice(0);
    if (failures.length === 0) return;
    const lines = failures.map((failure) => `- ${failure.during}: ${failure.error.message}`);
    throw new Error(`${this.label} simulator failed on its own:\n${lines.join('\n')}`, {
      cause: failures[0]!.error,
    });
  }
}
