// Dead-air watchdog: after the caller's turn ends (or a tool returns) the agent should start speaking.
// If no audio went out within `deadAirMs` and the caller is not talking, recover and record it: a short
// filler while the reply is still being worked on, or one more try of the model when the reply came
// back empty, then a fallback line.
import type { Clock, TimerHandle } from '../clock.js';
import type { Frame } from '../pipeline/frames.js';
import type { FrameTransit, PipelineObserver } from '../pipeline/processor.js';
import type { TurnRegistry } from '../pipeline/turns.js';
import type { CallEventBody } from '../session/events.js';

export interface DeadAirOptions {
  deadAirMs: number;
  clock: Clock;
  turns: TurnRegistry;
  /** Feeds a frame in at the head of the pipeline. */
  inject(frame: Frame): void;
  emit(event: CallEventBody): void;
  fillerMessage?: string;
  /** Said when a retried model reply is empty again. */
  fallbackMessage?: string;
}

export class DeadAirWatchdog implements PipelineObserver {
  private readonly options: DeadAirOptions;
  private timer: TimerHandle | null = null;
  private watchedTurnId: number | null = null;
  private emptyReplies = 0;
  private fillerSaidForTurn: number | null = null;
  private muted = false;

  constructor(options: DeadAirOptions) {
    this.options = options;
  }

  onFrame({ frame, to }: FrameTransit): void {
    // Each frame passes many processors: react once, where it leaves its origin.
    switch (frame.type) {
      case 'user.turn':
        if (!frame.speculative && to === 'llm') this.arm(frame.turnId);
        break;
      case 'user.turn.confirmed':
        if (to === 'llm') this.arm(frame.turnId);
        break;
      case 'tool.result':
        if (to === 'tts') this.arm(frame.turnId);
        break;
      case 'llm.run':
        if (to === 'llm') this.arm(frame.turnId);
        break;
      case 'agent.speech.started':
        if (to === null) this.disarm(true);
        break;
      case 'vad.speech.start':
        if (to === 'turn-taking') this.disarm(false);
        break;
    }
  }

  close(): void {
    this.disarm(false);
  }

  /**
   * A muted agent is meant to be silent: muted time is never dead air. Muting disarms the watchdog and
   * nothing arms it until unmuted (the next caller turn after that does).
   */
  setMuted(muted: boolean): void {
    this.muted = muted;
    if (muted) {
      this.disarm(false);
      this.watchedTurnId = null;
      this.emptyReplies = 0;
    }
  }

  private arm(turnId: number): void {
    this.disarm(false);
    if (this.muted) return;
    this.watchedTurnId = turnId;
    this.timer = this.options.clock.setTimer(this.options.deadAirMs, () => {
      this.timer = null;
      this.fire();
    });
  }

  private disarm(spoke: boolean): void {
    this.timer?.cancel();
    this.timer = null;
    if (spoke) this.emptyReplies = 0;
  }

  private fire(): void {
    const turnId = this.watchedTurnId;
    if (turnId === null) return;
    const { turns } = this.options;
    if (turns.isLive(turnId)) {
      if (this.fillerSaidForTurn === turnId) return;
      this.fillerSaidForTurn = turnId;
      this.record('the reply is still being prepared: saying a filler', { turnId, recovery: 'filler' });
      this.options.inject({
        type: 'llm.text',
        text: this.options.fillerMessage ?? 'One moment, please.',
        turnId,
        source: 'filler',
      });
      return;
    }
    // The turn ended without a word reaching the caller (an empty reply or a failure).
    const next = turns.begin();
    if (this.emptyReplies === 0) {
      this.emptyReplies++;
      this.record('the reply ended without audio: asking the model again', { turnId, recovery: 'retry' });
      this.options.inject({ type: 'llm.run', reason: 'dead air', turnId: next.id });
      return;
    }
    this.emptyReplies = 0;
    this.record('the retried reply was empty too: saying the fallback line', {
      turnId,
      recovery: 'fallback_line',
    });
    this.options.inject({
      type: 'agent.say',
      text: this.options.fallbackMessage ?? 'Sorry, could you say that again?',
      source: 'filler',
      turnId: next.id,
    });
  }

  private record(reason: string, data: Record<string, unknown>): void {
    this.options.emit({
      type: 'decision',
      decision: 'dead_air',
      reason: `no agent audio ${this.options.deadAirMs} ms after the turn: ${reason}`,
      data,
    });
  }
}
