// Frames: the plain objects that flow between processors. Data flows downstream (caller → agent
// reply → carrier); acknowledgements and errors flow upstream. The table below gives each type its
// category and whether it survives an interruption, so the queue logic never special-cases a type.
import type { AudioFormat } from '../audio/format.js';
import type { ToolCall } from '../providers/llm.js';
import type { ToolOutcome } from '../tools/executor.js';

export type Direction = 'downstream' | 'upstream';

/** Why the agent is speaking: decides whether the words go into the model's context. */
export type UtteranceSource =
  | 'greeting' // the configured first message
  | 'llm' // a model reply
  | 'filler' // "one moment" while a tool runs, dead-air recovery
  | 'reminder' // user-idle prompt
  | 'closing' // goodbye before hanging up (idle, max duration)
  | 'apology' // every provider failed
  | 'supervisor'; // a live "say" command

export type Frame =
  // --- lifecycle -----------------------------------------------------------------------------
  | { type: 'start' }
  /** Orderly end: processed after what is already queued. */
  | { type: 'end'; reason: string }
  // --- caller side ---------------------------------------------------------------------------
  /** Caller audio as the transport delivered it; `atMs` is call time of the frame's first sample. */
  | {
      type: 'audio.in';
      audio: Uint8Array;
      format: AudioFormat;
      atMs: number;
      /** The same audio decoded to PCM16 at `format`'s rate, once, for every stage that needs samples. */
      pcm16?: Int16Array;
    }
  | { type: 'dtmf'; digit: string; atMs: number }
  | { type: 'vad.speech.start'; atMs: number; probability: number }
  | { type: 'vad.speech.stop'; atMs: number; lastVoicedAtMs: number; speechDurationMs: number }
  | { type: 'stt.speech_started'; atMs: number }
  | { type: 'transcript.interim'; text: string; atMs: number }
  | { type: 'transcript.final'; text: string; speechFinal: boolean; atMs: number }
  | { type: 'stt.utterance_end'; atMs: number }
  // --- turn-taking ---------------------------------------------------------------------------
  /** The caller's turn is over: `text` goes to the model as the user message. */
  | { type: 'user.turn'; text: string; turnId: number; atMs: number; speculative: boolean }
  /** A speculative reply's user turn was confirmed (same text): its draft may now be spoken. */
  | { type: 'user.turn.confirmed'; turnId: number }
  /** Stop the agent now: queued output is dropped and the turn's provider streams aborted. */
  | { type: 'interruption'; turnId: number | null; reason: string; atMs: number }
  // --- agent side ----------------------------------------------------------------------------
  /** Speak `text` as-is (no model): greeting, reminder, filler, closing line, supervisor say. */
  | { type: 'agent.say'; text: string; source: UtteranceSource; turnId: number; hangUpAfter?: boolean }
  | { type: 'llm.response.start'; turnId: number }
  /**
   * Model text for synthesis. Usually a whole clause; the first clause of a reply is streamed as it is
   * generated (`clauseEnd: false` until its last piece) so synthesis starts with the first token.
   */
  | { type: 'llm.text'; text: string; turnId: number; source: UtteranceSource; clauseEnd?: boolean }
  | { type: 'llm.response.end'; turnId: number; hangUpAfter?: boolean }
  | { type: 'tool.call'; call: ToolCall; turnId: number }
  | { type: 'tool.result'; call: ToolCall; outcome: ToolOutcome; durationMs: number; turnId: number }
  /** Synthesised audio of one clause piece, in the transport's output format. */
  | { type: 'tts.audio'; audio: Uint8Array; format: AudioFormat; turnId: number; clauseIndex: number }
  /** All audio of clause `clauseIndex` has been emitted. */
  | { type: 'tts.clause.end'; turnId: number; clauseIndex: number; text: string }
  | { type: 'tts.end'; turnId: number; hangUpAfter?: boolean }
  // --- acknowledgements (upstream) -------------------------------------------------------------
  | { type: 'agent.speech.started'; turnId: number; atMs: number }
  /** Playback of clause `clauseIndex` finished at the caller (carrier mark echoed). */
  | { type: 'agent.clause.played'; turnId: number; clauseIndex: number; text: string }
  /** The turn's output is over; `spoke` is false when it produced no audio (an empty reply). */
  | { type: 'agent.speech.ended'; turnId: number; atMs: number; spoke: boolean; hangUpAfter: boolean }
  /** Playback was cut: `heardText` is what the caller actually heard. */
  | { type: 'agent.speech.interrupted'; turnId: number; heardText: string; atMs: number }
  // --- control and errors --------------------------------------------------------------------
  /** Replace the system prompt and/or tool set from the next model request on (flows use this). */
  | { type: 'context.update'; systemPrompt?: string; toolNames?: readonly string[] }
  /** Add a message or instruction to the model's context (live call control). */
  | { type: 'context.append'; role: 'user' | 'system'; text: string }
  /** Ask the recogniser to turn what it heard into a final now (upstream to the STT stage). */
  | { type: 'stt.finalize' }
  /** The caller interrupted but said nothing: speak the unheard rest of `turnId` again. */
  | { type: 'agent.resume'; interruptedTurnId: number; turnId: number }
  /** Ask the model to speak on the current context: a generated greeting, dead-air recovery. */
  | { type: 'llm.run'; reason: string; turnId: number }
  /** The carrier echoed a mark we sent (injected at the tail, travels upstream). */
  | { type: 'playback.mark'; name: string }
  | { type: 'hangup.request'; reason: string }
  | { type: 'error'; message: string; code: string; fatal: boolean };

export type FrameType = Frame['type'];
export type FrameOf<T extends FrameType> = Extract<Frame, { type: T }>;

/**
 * system: handled ahead of queued data and never dropped; data: dropped on interruption unless it
 * survives; control: ordered with data (e.g. `end` waits for what is queued before it).
 */
export type FrameCategory = 'system' | 'data' | 'control';

interface FrameTraits {
  category: FrameCategory;
  /** Kept in the queue when an interruption flushes it. */
  survivesInterruption: boolean;
}

const SYSTEM: FrameTraits = { category: 'system', survivesInterruption: true };
const DATA: FrameTraits = { category: 'data', survivesInterruption: false };
const DATA_KEPT: FrameTraits = { category: 'data', survivesInterruption: true };
const CONTROL: FrameTraits = { category: 'control', survivesInterruption: false };
const CONTROL_KEPT: FrameTraits = { category: 'control', survivesInterruption: true };

export const FRAME_TRAITS: Readonly<Record<FrameType, FrameTraits>> = {
  start: SYSTEM,
  end: CONTROL_KEPT,
  // Caller audio and what is derived from it must never be lost to an agent-side interruption.
  'audio.in': DATA_KEPT,
  dtmf: SYSTEM,
  'vad.speech.start': SYSTEM,
  'vad.speech.stop': SYSTEM,
  'stt.speech_started': SYSTEM,
  'transcript.interim': SYSTEM,
  'transcript.final': SYSTEM,
  'stt.utterance_end': SYSTEM,
  'user.turn': DATA_KEPT,
  'user.turn.confirmed': SYSTEM,
  interruption: SYSTEM,
  'agent.say': DATA,
  'llm.response.start': CONTROL,
  'llm.text': DATA,
  'llm.response.end': CONTROL,
  'tool.call': SYSTEM,
  'tool.result': SYSTEM,
  'tts.audio': DATA,
  'tts.clause.end': CONTROL,
  'tts.end': CONTROL,
  'agent.speech.started': SYSTEM,
  'agent.clause.played': SYSTEM,
  'agent.speech.ended': SYSTEM,
  'agent.speech.interrupted': SYSTEM,
  'context.update': CONTROL_KEPT,
  'context.append': CONTROL_KEPT,
  'stt.finalize': SYSTEM,
  'agent.resume': DATA_KEPT,
  'llm.run': DATA_KEPT,
  'playback.mark': SYSTEM,
  'hangup.request': SYSTEM,
  error: SYSTEM,
};

export function isSystemFrame(frame: Frame): boolean {
  return FRAME_TRAITS[frame.type].category === 'system';
}

export function survivesInterruption(frame: Frame): boolean {
  return FRAME_TRAITS[frame.type].survivesInterruption;
}
