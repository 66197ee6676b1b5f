// What a call session reports, in order. These are the rows of a call's timeline: stored by the
// server as call events, streamed live to dashboards, and enough to explain every turn afterwards.

/** Per-turn latency, all in milliseconds; null when the stage did not happen in that turn. */
export interface TurnLatency {
  turnId: number;
  /** Last voiced VAD window → turn committed (includes the configured silence). */
  endpointingMs: number | null;
  /**
   * Caller stopped speaking → final transcript received; null when the turn was committed before a
   * final covering the caller's last words arrived (its end was still an interim).
   */
  sttMs: number | null;
  /** Model request sent → first text token. */
  llmFirstTokenMs: number | null;
  /** First text sent to TTS → first audio back. */
  ttsFirstByteMs: number | null;
  /** Time spent in Parley itself: voice-to-voice minus the provider stages and the silence. */
  orchestratorMs: number | null;
  /** Caller's last voiced audio → first agent audio sent to the carrier. */
  voiceToVoiceMs: number | null;
}

export type DecisionKind =
  | 'turn.committed' // the caller's turn ended: why (silence, stt final, utterance end)
  | 'turn.waiting' // silence reached but still waiting for words
  | 'turn.discarded' // speech without words (noise): no reply
  | 'barge_in' // the agent yielded to the caller
  | 'barge_in.ignored' // caller sound that did not interrupt (backchannel, too short, no words)
  | 'false_interruption.resume' // the caller said nothing after interrupting: resume
  | 'speculative.started'
  | 'speculative.discarded'
  | 'speculative.confirmed'
  | 'idle.reminder'
  | 'idle.hangup'
  | 'max_duration'
  | 'dead_air' // the agent should have been speaking and was not
  | 'llm.fallback' // switched to the next model provider
  | 'tts.fallback'
  | 'apology' // every provider failed: a spoken apology instead
  | 'tool.slow' // said a "one moment" line
  | 'tool_rounds.exhausted'
  | 'muted'; // the agent is muted: a reply, reminder or recovery it would have spoken was not

/**
 * A supervisor's command on the live call (call control), recorded by whoever carries it out so the
 * call can be explained afterwards. Lengths only: what was said or added is in the transcript.
 */
export type ControlEventBody =
  | { type: 'control.hang_up' }
  | { type: 'control.say'; chars: number; interrupt: boolean; hangUpAfter: boolean }
  | { type: 'control.inject'; role: 'user' | 'system'; chars: number; respond: boolean }
  | {
      type: 'control.transfer';
      /** To the agent's configured human hand-off rather than a number given with the command. */
      handOff: boolean;
      /** `unavailable`: the call's carrier cannot transfer it, so nothing was done. */
      status: 'announcing' | 'transferring' | 'unavailable';
    }
  | { type: 'control.mute' }
  | { type: 'control.unmute' };

export type CallEventBody =
  | { type: 'call.started'; inputFormat: string; outputFormat: string }
  | { type: 'user.speech.started'; probability: number }
  | { type: 'user.speech.stopped'; speechDurationMs: number }
  | { type: 'transcript.interim'; text: string }
  | { type: 'transcript.final'; text: string }
  | { type: 'user.turn'; turnId: number; text: string }
  | { type: 'agent.speech.started'; turnId: number; source: string }
  | { type: 'agent.speech.ended'; turnId: number; text: string }
  | { type: 'agent.speech.interrupted'; turnId: number; heardText: string; fullText: string }
  | { type: 'tool.called'; turnId: number; toolCallId: string; name: string; arguments: string }
  | {
      type: 'tool.result';
      turnId: number;
      toolCallId: string;
      name: string;
      status: 'ok' | 'error';
      code?: string;
      content: string;
      durationMs: number;
    }
  | { type: 'turn.latency'; latency: TurnLatency }
  | { type: 'decision'; decision: DecisionKind; reason: string; data?: Record<string, unknown> }
  | { type: 'dtmf'; digit: string }
  | { type: 'error'; code: string; message: string; fatal: boolean }
  | { type: 'call.ended'; reason: string; durationMs: number }
  | ControlEventBody;

export type CallEvent = CallEventBody & {
  /** 1, 2, 3, … in the order things happened. */
  seq: number;
  /** Milliseconds since the call started. */
  atMs: number;
};

export type CallEventType = CallEvent['type'];
