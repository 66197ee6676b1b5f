// User-idle handling: when the agent has finished speaking and the caller says nothing, prompt them
// ("Are you still there?") up to N times, then say goodbye and hang up.
import type { TimerHandle } from '../clock.js';
import type { Direction, Frame } from '../pipeline/frames.js';
import { FrameProcessor } from '../pipeline/processor.js';

export interface IdleOptions {
  reminderAfterMs: number;
  maxReminders: number;
  /** Used in turn; the last one repeats. */
  reminderMessages: readonly string[];
  hangupMessage: string;
}

export class IdleMonitor extends FrameProcessor {
  readonly name = 'idle';
  private readonly options: IdleOptions;
  private timer: TimerHandle | null = null;
  private remindersSent = 0;
  private hangingUp = false;
  private muted = false;

  constructor(options: IdleOptions) {
    super();
    this.options = options;
  }

  protected override process(frame: Frame, direction: Direction): void {
    switch (frame.type) {
      case 'vad.speech.start':
      case 'stt.speech_started':
        this.stop();
        this.remindersSent = 0;
        break;
      case 'transcript.interim':
      case 'transcript.final':
        if (frame.text.trim()) {
          this.stop();
          this.remindersSent = 0;
        }
        break;
      case 'dtmf':
        this.stop();
        this.remindersSent = 0;
        break;
      case 'user.turn':
      case 'agent.say':
      case 'agent.resume':
      case 'llm.run':
      case 'agent.speech.started':
        this.stop();
        break;
      case 'agent.speech.ended':
        if (!frame.hangUpAfter) this.arm();
        break;
    }
    this.push(frame, direction);
  }

  override async close(): Promise<void> {
    this.stop();
  }

  /**
   * A muted agent prompts nobody: the timer stops and is not armed again until unmuted. Unmuting
   * starts it afresh, as if the agent had just finished speaking, so a silent caller is still reminded.
   */
  setMuted(muted: boolean): void {
    if (muted === this.muted) return;
    this.muted = muted;
    if (muted) this.stop();
    else this.arm();
  }

  private arm(): void {
    this.stop();
    if (this.hangingUp || this.muted) return;
    this.timer = this.ctx.clock.setTimer(this.options.reminderAfterMs, () => {
      this.timer = null;
      this.fire();
    });
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private fire(): void {
    const turn = this.ctx.turns.begin();
    if (this.remindersSent < this.options.maxReminders && this.options.reminderMessages.length > 0) {
      const messages = this.options.reminderMessages;
      const text = messages[Math.min(this.remindersSent, messages.length - 1)]!;
      this.remindersSent++;
      this.ctx.emit({
        type: 'decision',
        decision: 'idle.reminder',
        reason: `no caller speech for ${this.options.reminderAfterMs} ms`,
        data: { reminder: this.remindersSent, maxReminders: this.options.maxReminders },
      });
      this.push({ type: 'agent.say', text, source: 'reminder', turnId: turn.id });
      return;
    }
    this.hangingUp = true;
    this.ctx.emit({
      type: 'decision',
      decision: 'idle.hangup',
      reason: `no caller speech after ${this.remindersSent} reminders`,
    });
    this.push({
      type: 'agent.say',
      text: this.options.hangupMessage,
      source: 'closing',
      turnId: turn.id,
      hangUpAfter: true,
    });
  }
}
