// Turn-taking: decides when the caller's turn is over (endpointing) and when the caller takes the
// floor from the agent (barge-in). It listens to VAD and transcript frames coming down and to the
// agent's speech acknowledgements coming up, and records every decision it makes with its reasons.
import type { TimerHandle } from '../clock.js';
import type { Direction, Frame, FrameOf } from '../pipeline/frames.js';
import { FrameProcessor } from '../pipeline/processor.js';
import type { DecisionKind } from '../session/events.js';
import type { LatencyTracker } from '../session/latency.js';
import { WordRules } from './words.js';

export interface TurnTakingOptions {
  /** Silence after the last voiced audio that ends the caller's turn. */
  endpointingSilenceMs: number;
  /** Caller speech needed before the agent yields (0: words alone decide). */
  minInterruptionSpeechMs: number;
  /** Content words (not backchannels) needed before the agent yields (0: speech duration alone). */
  minInterruptionWords: number;
  backchannelWords: readonly string[];
  interruptPhrases: readonly string[];
  /** After an interruption with no words within this time, the agent resumes (0 disables). */
  falseInterruptionResumeMs: number;
  /** Start the model at the first end-of-turn signal and keep the draft only if the turn ends. */
  speculativeReplies: boolean;
  /** How long to wait for the recogniser's final once silence has ended the turn. */
  finalizeGraceMs?: number;
  /** Keypad digits end as a turn after this long without another key (or at `#`). Default 2000. */
  dtmfTimeoutMs?: number;
}

/** How the caller's keypad entry reads to the model: unambiguous, and never mistaken for speech. */
export const keypadTurnText = (digits: string) => `[The caller pressed on the keypad: ${digits}]`;

export interface UserTurnProcessorOptions extends TurnTakingOptions {
  latency?: LatencyTracker;
}

type CommitReason = 'silence' | 'stt_final' | 'utterance_end' | 'finalize_timeout';

export class UserTurnProcessor extends FrameProcessor {
  readonly name = 'turn-taking';
  private readonly options: UserTurnProcessorOptions;
  private readonly words: WordRules;
  private readonly finalizeGraceMs: number;

  // Caller state.
  private userSpeaking = false;
  private speechStartedAtMs = 0;
  private lastVoicedAtMs: number | null = null;
  private lastProbability = 0;
  private finals: string[] = [];
  private interim = '';
  /** Speech seen (by VAD or STT) since the last committed turn. */
  private heardSinceCommit = false;
  private awaitingFinal = false;

  // Agent state.
  private agentTurnId: number | null = null;
  private agentSpeaking = false;
  private bargeInDone = false;
  /** Text that arrived while the agent held the floor without being interrupted (backchannels). */
  private ignoredWhileAgentSpoke = false;

  // Speculative reply waiting for the turn to really end.
  private speculative: { turnId: number; text: string } | null = null;

  // After an interruption: resume if the caller says nothing.
  private interrupted: { turnId: number; wordsHeard: boolean } | null = null;

  private endpointTimer: TimerHandle | null = null;
  private finalizeTimer: TimerHandle | null = null;
  private bargeInTimer: TimerHandle | null = null;
  private resumeTimer: TimerHandle | null = null;

  // Keypad entry in progress (digits so far, ended by `#` or a pause).
  private dtmfDigits = '';
  private dtmfTimer: TimerHandle | null = null;

  constructor(options: UserTurnProcessorOptions) {
    super();
    this.options = options;
    this.words = new WordRules(options.backchannelWords, options.interruptPhrases);
    this.finalizeGraceMs = options.finalizeGraceMs ?? 700;
  }

  protected override process(frame: Frame, direction: Direction): void {
    switch (frame.type) {
      case 'vad.speech.start':
        this.onSpeechStart(frame);
        break;
      case 'vad.speech.stop':
        this.onSpeechStop(frame);
        break;
      case 'stt.speech_started':
        // A cheap cross-check only: the VAD owns speech state, STT words decide barge-in.
        break;
      case 'transcript.interim':
        this.onInterim(frame.text);
        break;
      case 'transcript.final':
        this.onFinal(frame);
        break;
      case 'stt.utterance_end':
        this.onUtteranceEnd();
        break;
      case 'dtmf':
        this.onDtmf(frame.digit);
        break;
      case 'agent.say':
      case 'agent.resume':
      case 'llm.run':
        if (direction === 'downstream') this.agentTakesTurn(frame.turnId);
        break;
      case 'agent.speech.started':
        // Turns started elsewhere (reminders, fillers, supervisor lines) hold the floor too.
        if (frame.turnId !== this.agentTurnId && this.ctx.turns.isLive(frame.turnId))
          this.agentTakesTurn(frame.turnId);
        if (frame.turnId === this.agentTurnId) this.agentSpeaking = true;
        break;
      case 'agent.speech.ended':
        if (frame.turnId === this.agentTurnId) this.agentFinished();
        break;
    }
    this.push(frame, direction);
  }

  protected override onInterruption(frame: FrameOf<'interruption'>): void {
    // Someone else interrupted (a supervisor, max duration): the agent no longer holds the floor.
    if (frame.turnId === null || frame.turnId === this.agentTurnId) {
      this.agentTurnId = null;
      this.agentSpeaking = false;
    }
  }

  override async close(): Promise<void> {
    for (const timer of [this.endpointTimer, this.finalizeTimer, this.bargeInTimer, this.resumeTimer]) {
      timer?.cancel();
    }
  }

  // --- caller speech -----------------------------------------------------------------------------

  private onSpeechStart(frame: FrameOf<'vad.speech.start'>): void {
    this.userSpeaking = true;
    this.heardSinceCommit = true;
    this.speechStartedAtMs = frame.atMs;
    this.lastProbability = frame.probability;
    this.cancel('endpointTimer');
    this.ctx.emit({ type: 'user.speech.started', probability: round(frame.probability) });
    if (this.speculative) this.discardSpeculative('caller kept talking');
    if (this.agentHoldsFloor()) {
      this.bargeInDone = false;
      const spokenMs = this.ctx.callTimeMs() - frame.atMs;
      const remainingMs = Math.max(0, this.options.minInterruptionSpeechMs - spokenMs);
      this.cancel('bargeInTimer');
      this.bargeInTimer = this.ctx.clock.setTimer(remainingMs, () => {
        this.bargeInTimer = null;
        this.evaluateBargeIn('speech duration reached');
      });
    }
  }

  private onSpeechStop(frame: FrameOf<'vad.speech.stop'>): void {
    this.userSpeaking = false;
    this.lastVoicedAtMs = frame.lastVoicedAtMs;
    this.ctx.emit({ type: 'user.speech.stopped', speechDurationMs: Math.round(frame.speechDurationMs) });
    if (this.bargeInTimer) {
      this.cancel('bargeInTimer');
      // Speech ended before the minimum: only words can still make it an interruption.
      if (this.agentHoldsFloor() && this.options.minInterruptionWords === 0) {
        this.decide('barge_in.ignored', 'speech shorter than the minimum', {
          speechMs: Math.round(frame.speechDurationMs),
          minInterruptionSpeechMs: this.options.minInterruptionSpeechMs,
        });
      }
    }
    if (this.agentHoldsFloor()) return;
    this.scheduleEndpoint();
    if (this.options.speculativeReplies) this.maybeStartSpeculative();
  }

  private onInterim(text: string): void {
    if (!text.trim()) return;
    this.heardSinceCommit = true;
    this.interim = text;
    if (this.interrupted && this.words.contentWords(text).length > 0) this.interrupted.wordsHeard = true;
    if (this.agentHoldsFloor()) this.evaluateBargeIn('words heard');
  }

  private onFinal(frame: FrameOf<'transcript.final'>): void {
    const text = frame.text.trim();
    this.interim = '';
    if (text) {
      this.heardSinceCommit = true;
      this.finals.push(text);
      if (this.interrupted && this.words.contentWords(text).length > 0) this.interrupted.wordsHeard = true;
    }
    if (this.agentHoldsFloor()) {
      if (text) this.evaluateBargeIn('words heard');
      return;
    }
    if (this.awaitingFinal) {
      this.commit('stt_final');
      return;
    }
    if (text && !this.userSpeaking && this.silenceReached()) this.commit('stt_final');
    else if (this.options.speculativeReplies && !this.userSpeaking) this.maybeStartSpeculative();
  }

  private onUtteranceEnd(): void {
    if (this.agentHoldsFloor() || this.userSpeaking) return;
    if (this.pendingText()) this.commit('utterance_end');
  }

  /** The configured silence has passed since the last voiced audio (or VAD never heard it). */
  private silenceReached(): boolean {
    if (this.lastVoicedAtMs === null) return true;
    return this.ctx.callTimeMs() - this.lastVoicedAtMs >= this.options.endpointingSilenceMs;
  }

  private onSilenceReached(): void {
    if (this.userSpeaking || this.agentHoldsFloor()) return;
    // Just interrupted by a sound or a backchannel: the resume timer decides, not a new turn.
    if (this.interrupted && !this.interrupted.wordsHeard) return;
    if (this.interim && this.finals.length === 0) {
      // Only a partial so far: ask the recogniser to finalise, and use the partial if it is slow.
      this.awaitingFinal = true;
      this.push({ type: 'stt.finalize' }, 'upstream');
      this.decide('turn.waiting', 'silence reached, waiting for the final transcript', this.timing());
      this.startFinalizeTimer();
      return;
    }
    if (this.finals.length > 0) {
      this.commit('silence');
      return;
    }
    if (this.heardSinceCommit) {
      // Speech without words yet: the final may still be on its way.
      this.awaitingFinal = true;
      this.decide('turn.waiting', 'silence reached, no words yet', this.timing());
      this.startFinalizeTimer();
    }
  }

  private startFinalizeTimer(): void {
    this.cancel('finalizeTimer');
    this.finalizeTimer = this.ctx.clock.setTimer(this.finalizeGraceMs, () => {
      this.finalizeTimer = null;
      if (!this.awaitingFinal || this.userSpeaking) return;
      if (this.pendingText()) this.commit('finalize_timeout');
      else {
        this.awaitingFinal = false;
        this.heardSinceCommit = false;
        this.decide('turn.discarded', 'speech without words (noise?)', this.timing());
      }
    });
  }

  private pendingText(): string {
    return [...this.finals, this.interim]
      .map((part) => part.trim())
      .filter(Boolean)
      .join(' ');
  }

  private commit(reason: CommitReason): void {
    const text = this.pendingText();
    this.resetCallerText();
    if (!text) return;
    this.cancel('resumeTimer');
    this.interrupted = null;
    const timing = this.timing();
    if (this.speculative) {
      const draft = this.speculative;
      this.speculative = null;
      if (draft.text === text && this.ctx.turns.isLive(draft.turnId)) {
        this.decide('speculative.confirmed', 'the turn ended with the text the draft was started on', timing);
        this.decide('turn.committed', reason, timing);
        this.options.latency?.mark(draft.turnId, 'committed', this.ctx.callTimeMs());
        this.agentTakesTurn(draft.turnId);
        this.ctx.emit({ type: 'user.turn', turnId: draft.turnId, text });
        this.push({ type: 'user.turn.confirmed', turnId: draft.turnId });
        return;
      }
      this.abortTurn(draft.turnId, 'speculative draft no longer matches');
      this.decide('speculative.discarded', 'the final text differs from the draft', timing);
    }
    this.decide('turn.committed', reason, { ...timing, words: text.split(/\s+/).length });
    const turn = this.ctx.turns.begin();
    this.options.latency?.mark(turn.id, 'committed', this.ctx.callTimeMs());
    this.agentTakesTurn(turn.id);
    this.ctx.emit({ type: 'user.turn', turnId: turn.id, text });
    this.push({ type: 'user.turn', text, turnId: turn.id, atMs: this.ctx.callTimeMs(), speculative: false });
  }

  // --- keypad ------------------------------------------------------------------------------------

  /** A key press stops the agent at once, as in every phone menu; the digits become the caller's turn. */
  private onDtmf(digit: string): void {
    if (this.agentHoldsFloor() && !this.bargeInDone) {
      this.bargeIn('keypad', { digit });
      this.cancel('resumeTimer');
      this.interrupted = null;
    }
    this.dtmfDigits += digit;
    this.cancel('dtmfTimer');
    if (digit === '#') {
      this.commitDtmf();
      return;
    }
    this.dtmfTimer = this.ctx.clock.setTimer(this.options.dtmfTimeoutMs ?? 2000, () => {
      this.dtmfTimer = null;
      this.commitDtmf();
    });
  }

  private commitDtmf(): void {
    const digits = this.dtmfDigits;
    this.dtmfDigits = '';
    if (!digits) return;
    const text = keypadTurnText(digits);
    this.decide('turn.committed', 'keypad', { keys: digits.length });
    const turn = this.ctx.turns.begin();
    this.agentTakesTurn(turn.id);
    this.ctx.emit({ type: 'user.turn', turnId: turn.id, text });
    this.push({ type: 'user.turn', text, turnId: turn.id, atMs: this.ctx.callTimeMs(), speculative: false });
  }

  private resetCallerText(): void {
    this.finals = [];
    this.interim = '';
    this.awaitingFinal = false;
    this.heardSinceCommit = false;
    this.cancel('endpointTimer');
    this.cancel('finalizeTimer');
  }

  // --- speculative replies ------------------------------------------------------------------------

  /** An early end-of-turn signal (VAD stop with a final in hand): start the model on a draft. */
  private maybeStartSpeculative(): void {
    if (this.speculative || this.agentHoldsFloor() || this.userSpeaking) return;
    if (this.finals.length === 0 || this.interim) return;
    const text = this.pendingText();
    const turn = this.ctx.turns.begin();
    this.speculative = { turnId: turn.id, text };
    this.decide('speculative.started', 'early end-of-turn signal', this.timing());
    this.push({ type: 'user.turn', text, turnId: turn.id, atMs: this.ctx.callTimeMs(), speculative: true });
  }

  private discardSpeculative(reason: string): void {
    const draft = this.speculative;
    if (!draft) return;
    this.speculative = null;
    this.abortTurn(draft.turnId, reason);
    this.decide('speculative.discarded', reason, this.timing());
  }

  // --- barge-in -----------------------------------------------------------------------------------

  private agentHoldsFloor(): boolean {
    return this.agentTurnId !== null && this.ctx.turns.isLive(this.agentTurnId);
  }

  private agentTakesTurn(turnId: number): void {
    this.agentTurnId = turnId;
    this.agentSpeaking = false;
    this.bargeInDone = false;
    this.ignoredWhileAgentSpoke = false;
  }

  private agentFinished(): void {
    this.agentTurnId = null;
    this.agentSpeaking = false;
    this.cancel('bargeInTimer');
    if (this.ignoredWhileAgentSpoke || (!this.userSpeaking && !this.pendingText())) {
      // Backchannels said over the agent are not a turn of their own.
      this.resetCallerText();
      this.ignoredWhileAgentSpoke = false;
    }
    if (this.userSpeaking) this.heardSinceCommit = true;
    else if (this.pendingText()) this.scheduleEndpoint();
  }

  private scheduleEndpoint(): void {
    const dueInMs =
      (this.lastVoicedAtMs ?? this.ctx.callTimeMs()) +
      this.options.endpointingSilenceMs -
      this.ctx.callTimeMs();
    this.cancel('endpointTimer');
    this.endpointTimer = this.ctx.clock.setTimer(dueInMs, () => {
      this.endpointTimer = null;
      this.onSilenceReached();
    });
  }

  private evaluateBargeIn(trigger: string): void {
    if (this.bargeInDone || !this.agentHoldsFloor()) return;
    const text = this.pendingText();
    const speechMs = this.userSpeaking ? this.ctx.callTimeMs() - this.speechStartedAtMs : 0;
    const phrase = this.words.interruptPhraseIn(text);
    const contentWords = this.words.contentWords(text);
    const data = {
      trigger,
      speechMs: Math.round(speechMs),
      contentWords: contentWords.length,
      probability: round(this.lastProbability),
      agentSpeaking: this.agentSpeaking,
    };
    if (phrase) {
      this.bargeIn(`interrupt phrase "${phrase}"`, data);
      return;
    }
    const longEnough =
      speechMs >= this.options.minInterruptionSpeechMs || (!this.userSpeaking && text !== '');
    const enoughWords = contentWords.length >= this.options.minInterruptionWords;
    if (longEnough && enoughWords && (this.userSpeaking || text)) {
      this.bargeIn(this.options.minInterruptionWords > 0 ? 'speech with words' : 'speech duration', data);
      return;
    }
    if (text && contentWords.length === 0) {
      this.ignoredWhileAgentSpoke = true;
      this.decide('barge_in.ignored', 'backchannel', data);
    }
  }

  private bargeIn(reason: string, data: Record<string, unknown>): void {
    const turnId = this.agentTurnId!;
    this.bargeInDone = true;
    this.cancel('bargeInTimer');
    this.decide('barge_in', reason, data);
    this.agentTurnId = null;
    this.agentSpeaking = false;
    this.ignoredWhileAgentSpoke = false;
    this.abortTurn(turnId, 'barge-in');
    // Words said so far belong to the caller's new turn; a backchannel-only prefix does not.
    if (
      this.words.contentWords(this.pendingText()).length === 0 &&
      !this.words.interruptPhraseIn(this.pendingText())
    ) {
      this.finals = [];
      this.interim = '';
    }
    this.heardSinceCommit = true;
    if (this.options.falseInterruptionResumeMs > 0) {
      const wordsHeard = this.words.contentWords(this.pendingText()).length > 0;
      this.interrupted = { turnId, wordsHeard };
      this.cancel('resumeTimer');
      this.resumeTimer = this.ctx.clock.setTimer(this.options.falseInterruptionResumeMs, () => {
        this.resumeTimer = null;
        this.maybeResume();
      });
    }
    // The words may have arrived after the sound ended: the turn then ends on the usual silence.
    if (!this.userSpeaking) this.scheduleEndpoint();
  }

  private maybeResume(): void {
    const interrupted = this.interrupted;
    this.interrupted = null;
    if (!interrupted || interrupted.wordsHeard || this.userSpeaking) return;
    if (this.words.contentWords(this.pendingText()).length > 0) return;
    if (this.agentHoldsFloor()) return;
    this.resetCallerText();
    this.decide('false_interruption.resume', 'the caller made a sound but said nothing', {
      interruptedTurnId: interrupted.turnId,
      waitedMs: this.options.falseInterruptionResumeMs,
    });
    const turn = this.ctx.turns.begin();
    this.agentTakesTurn(turn.id);
    this.push({ type: 'agent.resume', interruptedTurnId: interrupted.turnId, turnId: turn.id });
  }

  private abortTurn(turnId: number, reason: string): void {
    this.ctx.turns.abort(turnId, reason);
    this.broadcast({ type: 'interruption', turnId, reason, atMs: this.ctx.callTimeMs() });
  }

  // --- helpers ------------------------------------------------------------------------------------

  private timing(): Record<string, unknown> {
    const now = this.ctx.callTimeMs();
    return {
      silenceMs: this.lastVoicedAtMs === null ? null : Math.round(now - this.lastVoicedAtMs),
      endpointingSilenceMs: this.options.endpointingSilenceMs,
      lastProbability: round(this.lastProbability),
    };
  }

  private decide(decision: DecisionKind, reason: string, data?: Record<string, unknown>): void {
    this.ctx.emit({ type: 'decision', decision, reason, ...(data ? { data } : {}) });
  }

  private cancel(
    timer: 'endpointTimer' | 'finalizeTimer' | 'bargeInTimer' | 'resumeTimer' | 'dtmfTimer',
  ): void {
    this[timer]?.cancel();
    this[timer] = null;
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
