// Per-turn latency: each stage records when it happened (call time, ms) and the report is complete
// once the first audio of the reply went out. Stages that did not happen stay null.
import type { TurnLatency } from './events.js';

export type LatencyMark =
  | 'lastVoiced' // the caller's last voiced audio before the turn ended
  | 'finalTranscript' // the recogniser's final for the turn arrived
  | 'committed' // turn-taking ended the caller's turn
  | 'llmRequest'
  | 'llmFirstToken'
  | 'ttsRequest'
  | 'ttsFirstByte'
  | 'firstAudioOut';

type Marks = Partial<Record<LatencyMark, number>>;

export class LatencyTracker {
  private readonly turns = new Map<number, Marks>();
  private readonly onReport: (latency: TurnLatency) => void;
  /** Caller-side marks seen before the turn id exists (the turn is created at commit). */
  private pendingCaller: Marks = {};

  constructor(onReport: (latency: TurnLatency) => void) {
    this.onReport = onReport;
  }

  /** Caller-side stage, before the turn exists. */
  markCaller(mark: 'lastVoiced' | 'finalTranscript', atMs: number): void {
    this.pendingCaller[mark] = atMs;
  }

  /** Records a stage once (the first occurrence counts). */
  mark(turnId: number, mark: LatencyMark, atMs: number): void {
    let marks = this.turns.get(turnId);
    if (!marks) {
      marks = {};
      this.turns.set(turnId, marks);
    }
    if (mark === 'committed') {
      Object.assign(marks, this.pendingCaller);
      this.pendingCaller = {};
    }
    if (marks[mark] !== undefined) return;
    marks[mark] = atMs;
    if (mark === 'firstAudioOut') this.report(turnId, marks);
  }

  /** The turn is over without audio (interrupted, empty): forget it. */
  drop(turnId: number): void {
    this.turns.delete(turnId);
  }

  private report(turnId: number, marks: Marks): void {
    this.turns.delete(turnId);
    const span = (from: LatencyMark, to: LatencyMark): number | null =>
      marks[from] !== undefined && marks[to] !== undefined ? Math.round(marks[to]! - marks[from]!) : null;
    const endpointingMs = span('lastVoiced', 'committed');
    // A final that came before the caller's last words (a final for the first half of a sentence, the
    // rest still an interim at the commit) measured nothing about the end of speech.
    const sttSpan = span('lastVoiced', 'finalTranscript');
    const sttMs = sttSpan !== null && sttSpan >= 0 ? sttSpan : null;
    const llmFirstTokenMs = span('llmRequest', 'llmFirstToken');
    const ttsFirstByteMs = span('ttsRequest', 'ttsFirstByte');
    const voiceToVoiceMs = span('lastVoiced', 'firstAudioOut');
    // What Parley itself added: from the turn decision to the first audio, minus the providers.
    const fromCommit = span('committed', 'firstAudioOut');
    const orchestratorMs =
      fromCommit === null ? null : Math.max(0, fromCommit - (llmFirstTokenMs ?? 0) - (ttsFirstByteMs ?? 0));
    this.onReport({
      turnId,
      endpointingMs,
      sttMs,
      llmFirstTokenMs,
      ttsFirstByteMs,
      orchestratorMs,
      voiceToVoiceMs,
    });
  }
}
