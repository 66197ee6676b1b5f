// A whole call on a manual clock: a CallSession over the in-memory transport with the in-process
// providers, and a phone line that sends a 20 ms frame of caller audio every 20 ms of clock time, as a
// real line does. Tests script what the caller says and when, then assert on the events and on what
// the caller heard.
import {
  InMemoryCall,
  CallSession,
  ManualClock,
  MULAW_8K,
  type CallEvent,
  type CallEventType,
  type SessionAgentConfig,
  type ToolExecutor,
  type TtsProvider,
  type WavWriter,
  type LlmProvider,
} from '@parley/voice';
import { FakeStt, FakeTts, ScriptedLlm, ThresholdVad, silenceMulaw, toneMulaw } from './fakes.js';

export const FRAME_MS = 20;

export function testAgentConfig(overrides: Partial<SessionAgentConfig> = {}): SessionAgentConfig {
  return {
    systemPrompt: 'You are a helpful receptionist.',
    firstMessage: 'Hello! How can I help?',
    firstMessageMode: 'agent-speaks',
    language: 'en-US',
    voice: 'test-voice',
    turnTaking: {
      endpointingSilenceMs: 500,
      minInterruptionSpeechMs: 300,
      minInterruptionWords: 1,
      backchannelWords: ['yeah', 'mm-hm', 'uh-huh', 'okay', 'right', 'sure', 'yes'],
      interruptPhrases: ['stop', 'wait', 'hold on'],
      falseInterruptionResumeMs: 1500,
      speculativeReplies: false,
      deadAirMs: 3000,
    },
    idle: {
      reminderAfterMs: 8000,
      maxReminders: 2,
      reminderMessages: ['Are you still there?'],
      hangupMessage: 'It seems you have stepped away. Goodbye!',
    },
    maxDurationSeconds: 1800,
    closingMessage: 'We have reached the time limit for this call. Goodbye!',
    slowToolAfterMs: null,
    ...overrides,
  };
}

export interface TestCallOptions {
  agent?: Partial<SessionAgentConfig>;
  turnTaking?: Partial<SessionAgentConfig['turnTaking']>;
  /** Share a clock with providers built before the call. */
  clock?: ManualClock;
  /** The model or a fallback chain; a ScriptedLlm on the call's clock by default. */
  llm?: LlmProvider | LlmProvider[];
  tts?: TtsProvider[];
  tools?: ToolExecutor;
  recording?: WavWriter;
}

export interface TestCall {
  clock: ManualClock;
  session: CallSession;
  line: InMemoryCall;
  llm: ScriptedLlm;
  stt: FakeStt;
  tts: FakeTts;
  vad: ThresholdVad;
  events: CallEvent[];
  /** Advances the clock by `ms`, sending a frame of caller audio every 20 ms (silence unless speaking). */
  run(ms: number): Promise<void>;
  /**
   * The caller speaks for `ms`; `words` are revealed as interims while speaking and become the final
   * `finalDelayMs` after the speech ends (null: no final, as for a cough).
   */
  speak(
    ms: number,
    words: string | null,
    options?: { finalDelayMs?: number; interims?: boolean },
  ): Promise<void>;
  eventsOf<T extends CallEventType>(type: T): Extract<CallEvent, { type: T }>[];
  decisions(kind?: string): Extract<CallEvent, { type: 'decision' }>[];
  /** Runs until an event matches (bounded by `withinMs` of clock time). */
  until(predicate: (event: CallEvent) => boolean, withinMs?: number): Promise<CallEvent>;
  /** Ms of agent audio the caller has received. */
  heardMs(): number;
}

export function createTestCall(options: TestCallOptions = {}): TestCall {
  const clock = options.clock ?? new ManualClock();
  const llm = options.llm instanceof ScriptedLlm ? options.llm : new ScriptedLlm(clock);
  const stt = new FakeStt();
  const tts = new FakeTts(clock);
  const vad = new ThresholdVad();
  const line = new InMemoryCall({ clock, inputFormat: MULAW_8K, outputFormat: MULAW_8K });
  const events: CallEvent[] = [];
  const base = testAgentConfig(options.agent);
  const agent: SessionAgentConfig = { ...base, turnTaking: { ...base.turnTaking, ...options.turnTaking } };
  const session = new CallSession({
    callId: 'call-test',
    transport: line.transport,
    agent,
    stt,
    llm: options.llm ?? llm,
    tts: options.tts ?? [tts],
    vad,
    clock,
    onEvent: (event) => events.push(event),
    ...(options.tools ? { tools: options.tools } : {}),
    ...(options.recording ? { recording: options.recording } : {}),
  });

  let speaking = false;
  let ended = false;
  void session.ended.then(() => (ended = true));

  async function run(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms && !ended; elapsed += FRAME_MS) {
      line.speak(speaking ? toneMulaw(FRAME_MS) : silenceMulaw(FRAME_MS));
      await clock.advance(FRAME_MS);
    }
  }

  async function speak(
    ms: number,
    words: string | null,
    speakOptions: { finalDelayMs?: number; interims?: boolean } = {},
  ): Promise<void> {
    const wordList = words?.split(/\s+/).filter(Boolean) ?? [];
    speaking = true;
    const frames = Math.max(1, Math.round(ms / FRAME_MS));
    for (let frame = 0; frame < frames && !ended; frame++) {
      await run(FRAME_MS);
      // Reveal words progressively, the first about 100 ms in, like a streaming recogniser.
      if (speakOptions.interims !== false && wordList.length > 0) {
        const revealed = Math.min(
          wordList.length,
          Math.floor(((frame + 1) * FRAME_MS - 60) / Math.max(1, ms / wordList.length)) + 1,
        );
        if (revealed > 0 && (frame + 1) * FRAME_MS >= 100 && (frame + 1) % 5 === 0) {
          stt.current.interim(wordList.slice(0, revealed).join(' '));
        }
      }
    }
    speaking = false;
    if (words !== null) {
      clock.setTimer(speakOptions.finalDelayMs ?? 150, () => stt.current.final(words, true));
    }
  }

  function eventsOf<T extends CallEventType>(type: T) {
    return events.filter((event): event is Extract<CallEvent, { type: T }> => event.type === type);
  }

  async function until(predicate: (event: CallEvent) => boolean, withinMs = 30_000): Promise<CallEvent> {
    for (let waited = 0; waited <= withinMs; waited += FRAME_MS) {
      const found = events.find(predicate);
      if (found) return found;
      if (ended) break;
      await run(FRAME_MS);
    }
    const found = events.find(predicate);
    if (found) return found;
    throw new Error(
      `no matching event within ${withinMs} ms; events: ${events.map((e) => e.type).join(', ')}`,
    );
  }

  return {
    clock,
    session,
    line,
    llm,
    stt,
    tts,
    vad,
    events,
    run,
    speak,
    eventsOf,
    decisions: (kind) =>
      eventsOf('decision').filter((event) => kind === undefined || event.decision === kind),
    until,
    heardMs: () => line.receivedAudioMs,
  };
}
