// One live call: wires the transport to a pipeline of small processors (VAD → STT → idle → turn-taking
// → LLM → TTS → output), starts the greeting, enforces the maximum duration, records both legs, and
// reports an ordered timeline of events. The session composes; the processors decide.
import type { Clock, TimerHandle } from '../clock.js';
import { systemClock } from '../clock.js';
import { decodeToPcm16 } from '../audio/convert.js';
import { formatLabel } from '../audio/format.js';
import type { WavWriter } from '../audio/wav-writer.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { Direction, Frame } from '../pipeline/frames.js';
import type { FrameTransit, PipelineObserver } from '../pipeline/processor.js';
import { LlmProcessor } from '../processors/llm-processor.js';
import { OutputProcessor } from '../processors/output-processor.js';
import { SttProcessor } from '../processors/stt-processor.js';
import { TtsProcessor } from '../processors/tts-processor.js';
import { VadProcessor } from '../processors/vad-processor.js';
import type { VadAnalyzer } from '../processors/vad-processor.js';
import { FallbackLlm } from '../llm/fallback.js';
import { ProviderError } from '../providers/errors.js';
import type { LlmProvider } from '../providers/llm.js';
import type { SttProvider } from '../providers/stt.js';
import type { TtsProvider } from '../providers/tts.js';
import type { ToolExecutor } from '../tools/executor.js';
import { DeadAirWatchdog } from '../turns/dead-air-watchdog.js';
import type { IdleOptions } from '../turns/idle-monitor.js';
import { IdleMonitor } from '../turns/idle-monitor.js';
import type { TurnTakingOptions } from '../turns/user-turn-processor.js';
import { UserTurnProcessor } from '../turns/user-turn-processor.js';
import type { CallEvent, CallEventBody, ControlEventBody } from './events.js';
import { LatencyTracker } from './latency.js';
import { CallRecorder } from './recorder.js';
import { CallAudioTap } from './audio-tap.js';
import { CALLER_HUNG_UP, type CallTransport, type TransportEvent } from './transport.js';

export type FirstMessageMode = 'agent-speaks' | 'user-speaks' | 'agent-generates';

/** What the session needs of an agent version (the server maps the stored config onto this). */
export interface SessionAgentConfig {
  systemPrompt: string;
  firstMessage: string;
  firstMessageMode: FirstMessageMode;
  language: string;
  voice: string;
  ttsModel?: string;
  speed?: number;
  temperature?: number;
  maxTokens?: number;
  sttKeywords?: readonly string[];
  turnTaking: TurnTakingOptions & { deadAirMs: number };
  idle: IdleOptions;
  maxDurationSeconds: number;
  closingMessage: string;
  maxToolRounds?: number;
  toolTimeoutMs?: number;
  slowToolAfterMs?: number | null;
  slowToolMessage?: string;
  apologyMessage?: string;
}

export interface CallSessionOptions {
  callId: string;
  transport: CallTransport;
  agent: SessionAgentConfig;
  stt: SttProvider;
  /** The model, or the agent's chain (primary first): later ones are tried when earlier ones fail. */
  llm: LlmProvider | readonly LlmProvider[];
  /** Primary first, then fallbacks. */
  tts: readonly TtsProvider[];
  /** This call's voice activity detector (a stream of the process-wide shared model). */
  vad: VadAnalyzer;
  tools?: ToolExecutor;
  /** Dual-channel recording; null to not record. */
  recording?: WavWriter | null;
  clock?: Clock;
  onEvent: (event: CallEvent) => void;
}

export interface CallOutcome {
  reason: string;
  durationMs: number;
}

export class CallSession {
  readonly callId: string;
  private readonly options: CallSessionOptions;
  private readonly clock: Clock;
  private readonly pipeline: Pipeline;
  private readonly llm: LlmProcessor;
  private readonly output: OutputProcessor;
  private readonly watchdog: DeadAirWatchdog;
  private readonly idle: IdleMonitor;
  /** See mute(). */
  private muted = false;
  private readonly recorder: CallRecorder | null;
  private readonly startedAtMs: number;
  private seq = 0;
  /** Why the agent's next goodbye ends the call (set by the decision that asked for it). */
  private hangUpReason = 'agent_hangup';
  /**
   * The end reason of say() turns that hang up once heard, by turn id: used only if that turn is heard
   * to its end, so a supervisor's hang-up the caller barged into does not become the reason of the
   * agent's own later goodbye.
   */
  private readonly turnEndReasons = new Map<number, string>();
  private maxDurationTimer: TimerHandle | null = null;
  private ending: Promise<CallOutcome> | null = null;
  /** Supervisor listen: set only while someone listens, so an unheard call pays one null check. */
  private audioTap: { tap: CallAudioTap; onEnd: (reason: string) => void } | null = null;
  private resolveEnded!: (outcome: CallOutcome) => void;
  /** Resolves once the call is over and everything is written. */
  readonly ended: Promise<CallOutcome>;

  constructor(options: CallSessionOptions) {
    this.options = options;
    this.callId = options.callId;
    this.clock = options.clock ?? systemClock;
    this.startedAtMs = this.clock.now();
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    const { agent, transport } = options;
    const latency = new LatencyTracker((report) => this.emit({ type: 'turn.latency', latency: report }));
    const recorder = options.recording
      ? new CallRecorder({
          writer: options.recording,
          sampleRateHz: transport.inputFormat.sampleRateHz,
          callerFormat: transport.inputFormat,
          agentFormat: transport.outputFormat,
        })
      : null;
    this.recorder = recorder;

    const chain = Array.isArray(options.llm) ? options.llm : [options.llm as LlmProvider];
    const llm =
      chain.length === 1
        ? chain[0]!
        : new FallbackLlm(chain, {
            clock: this.clock,
            onFallback: ({ from, to, error }) =>
              this.emit({
                type: 'decision',
                decision: 'llm.fallback',
                reason: `${from} failed; using ${to}`,
                data: { category: error instanceof ProviderError ? error.category : 'timeout' },
              }),
          });
    this.llm = new LlmProcessor({
      llm,
      systemPrompt: agent.systemPrompt,
      callId: options.callId,
      latency,
      ...(options.tools ? { tools: options.tools } : {}),
      ...pick(agent, [
        'temperature',
        'maxTokens',
        'maxToolRounds',
        'toolTimeoutMs',
        'slowToolAfterMs',
        'slowToolMessage',
        'apologyMessage',
      ]),
    });
    this.output = new OutputProcessor({
      clock: this.clock,
      format: transport.outputFormat,
      latency,
      sink: {
        sendAudio: (audio) => {
          recorder?.agent(audio, this.callTimeMs());
          this.audioTap?.tap.agent(audio, this.callTimeMs());
          transport.sendAudio(audio);
        },
        sendMark: (name) => transport.sendMark(name),
        clear: () => {
          recorder?.truncateAgent(this.callTimeMs());
          this.audioTap?.tap.truncateAgent(this.callTimeMs());
          transport.clear();
        },
      },
    });
    this.idle = new IdleMonitor(agent.idle);
    const processors = [
      new VadProcessor({ analyzer: options.vad, inputFormat: transport.inputFormat, latency }),
      new SttProcessor({
        provider: options.stt,
        inputFormat: transport.inputFormat,
        language: agent.language,
        latency,
        // Short vendor endpointing: its final is normally in hand when our (longer) silence ends the
        // turn; when it is not, turn-taking asks it to finalise.
        endpointingMs: Math.min(100, agent.turnTaking.endpointingSilenceMs),
        ...(agent.sttKeywords ? { keywords: agent.sttKeywords } : {}),
      }),
      this.idle,
      new UserTurnProcessor({ ...agent.turnTaking, latency }),
      this.llm,
      new TtsProcessor({
        providers: options.tts,
        voice: agent.voice,
        outputFormat: transport.outputFormat,
        language: agent.language,
        latency,
        ...(agent.ttsModel !== undefined ? { model: agent.ttsModel } : {}),
        ...(agent.speed !== undefined ? { speed: agent.speed } : {}),
      }),
      this.output,
    ];
    this.pipeline = new Pipeline(processors, {
      clock: this.clock,
      startedAtMs: this.startedAtMs,
      onEvent: (event) => this.emit(event),
      onExit: (frame, direction) => this.onExit(frame, direction),
      onProcessorError: (processor, error) =>
        this.emit({
          type: 'error',
          code: 'internal',
          message: `${processor}: ${error instanceof Error ? error.message : String(error)}`,
          fatal: false,
        }),
    });
    this.watchdog = new DeadAirWatchdog({
      deadAirMs: agent.turnTaking.deadAirMs,
      clock: this.clock,
      turns: this.pipeline.turns,
      inject: (frame) => this.pipeline.inject(frame),
      emit: (event) => this.emit(event),
    });
    this.pipeline.addObserver(this.watchdog);
    this.pipeline.addObserver(new SpeechEvents((event) => this.emit(event)));
  }

  /** Starts listening and, depending on the agent, speaks first. */
  start(): void {
    const { transport, agent } = this.options;
    this.emit({
      type: 'call.started',
      inputFormat: formatLabel(transport.inputFormat),
      outputFormat: formatLabel(transport.outputFormat),
    });
    transport.setListener((event) => this.onTransport(event));
    this.pipeline.start();
    this.maxDurationTimer = this.clock.setTimer(agent.maxDurationSeconds * 1000, () => this.onMaxDuration());
    if (agent.firstMessageMode === 'agent-speaks' && agent.firstMessage.trim()) {
      this.pipeline.inject({
        type: 'agent.say',
        text: agent.firstMessage,
        source: 'greeting',
        turnId: this.pipeline.turns.begin().id,
      });
    } else if (agent.firstMessageMode === 'agent-generates') {
      this.pipeline.inject({ type: 'llm.run', reason: 'greeting', turnId: this.pipeline.turns.begin().id });
    }
  }

  // --- live control ---------------------------------------------------------------------------------

  /**
   * Speaks `text` now, after interrupting whatever the agent was saying. With `hangUpAfter` the call
   * ends once the words have been heard, as `endReason` (default `agent_hangup`).
   */
  say(text: string, options: { interrupt?: boolean; hangUpAfter?: boolean; endReason?: string } = {}): void {
    if (options.interrupt ?? true) this.pipeline.interrupt('supervisor say');
    const turnId = this.pipeline.turns.begin().id;
    if (options.hangUpAfter && options.endReason) this.turnEndReasons.set(turnId, options.endReason);
    this.pipeline.inject({
      type: 'agent.say',
      text,
      source: 'supervisor',
      turnId,
      ...(options.hangUpAfter ? { hangUpAfter: true } : {}),
    });
  }

  interrupt(reason = 'supervisor'): void {
    this.pipeline.interrupt(reason);
  }

  /**
   * Mutes the agent: what it is saying stops at once, and until unmute() it starts nothing itself: no
   * replies, greeting, idle reminders, resumes or dead-air recovery (muted time is never dead air). It
   * keeps listening: the caller's turns still enter the model's context, unanswered. A supervisor's
   * say() is still spoken (it is the one voice a muted agent has). At the maximum duration a muted
   * call ends without its closing line.
   */
  mute(): void {
    if (this.muted || this.ending) return;
    this.muted = true;
    // The switches first: nothing may start between the interruption and them.
    this.llm.setMuted(true);
    this.idle.setMuted(true);
    this.watchdog.setMuted(true);
    this.pipeline.interrupt('muted');
  }

  /** The agent speaks again: it answers the caller's next turn (turns heard while muted stay unanswered). */
  unmute(): void {
    if (!this.muted || this.ending) return;
    this.muted = false;
    this.llm.setMuted(false);
    this.watchdog.setMuted(false);
    this.idle.setMuted(false);
  }

  get isMuted(): boolean {
    return this.muted;
  }

  /**
   * The model speaks now on its context as it stands (after a supervisor added to it), stopping what
   * the agent was saying. A muted agent does not (the context keeps the addition for later).
   */
  respond(): void {
    if (this.muted) return;
    this.pipeline.interrupt('supervisor respond');
    this.pipeline.inject({ type: 'llm.run', reason: 'supervisor', turnId: this.pipeline.turns.begin().id });
  }

  /** Records a supervisor's command on the call's timeline (the server carries the commands out). */
  recordControl(event: ControlEventBody): void {
    if (this.ending) return;
    this.emit(event);
  }

  /** Adds a message or instruction to the model's context. */
  appendContext(role: 'user' | 'system', text: string): void {
    this.pipeline.inject({ type: 'context.append', role, text });
  }

  /** Swaps the system prompt and/or the tools on offer from the next model request on. */
  updateContext(update: { systemPrompt?: string; toolNames?: readonly string[] }): void {
    this.pipeline.inject({ type: 'context.update', ...update });
  }

  /** The conversation as the model sees it (for tests and the end-of-call report). */
  get messages() {
    return this.llm.context.messagesForRequest();
  }

  get pacerStats() {
    return this.output.pacerStats;
  }

  /** Ends the call from our side. */
  hangUp(reason: string): Promise<CallOutcome> {
    return this.end(reason, true);
  }

  /**
   * Streams both legs to `onChunk` as interleaved stereo PCM16 (caller left, agent right, at
   * `sampleRateHz`) until the returned `stop` is called; `onEnd` is told the call's end reason once the
   * last chunk is out. One tap at a time (a listener relay shares it); a new one replaces the old.
   */
  tapAudio(options: {
    onChunk: (interleaved: Int16Array) => void;
    onEnd: (reason: string) => void;
    chunkMs?: number;
  }): { sampleRateHz: number; stop: () => void } {
    const { transport } = this.options;
    const sampleRateHz = transport.inputFormat.sampleRateHz;
    if (this.ending) {
      void this.ending.then((outcome) => options.onEnd(outcome.reason));
      return { sampleRateHz, stop: () => {} };
    }
    const tap = new CallAudioTap({
      sampleRateHz,
      callerFormat: transport.inputFormat,
      agentFormat: transport.outputFormat,
      startAtMs: this.callTimeMs(),
      onChunk: options.onChunk,
      ...(options.chunkMs !== undefined ? { chunkMs: options.chunkMs } : {}),
    });
    const entry = { tap, onEnd: options.onEnd };
    this.audioTap = entry;
    return {
      sampleRateHz,
      stop: () => {
        if (this.audioTap === entry) this.audioTap = null;
      },
    };
  }

  // --- internals ------------------------------------------------------------------------------------

  private onTransport(event: TransportEvent): void {
    switch (event.type) {
      case 'audio': {
        // Decoded once here for the recorder and the VAD.
        const format = this.options.transport.inputFormat;
        const pcm16 = decodeToPcm16(event.audio, format);
        this.recorder?.caller(event.audio, pcm16);
        this.audioTap?.tap.caller(event.audio, pcm16);
        this.pipeline.inject({
          type: 'audio.in',
          audio: event.audio,
          format,
          atMs: this.callTimeMs(),
          pcm16,
        });
        return;
      }
      case 'mark':
        this.pipeline.inject({ type: 'playback.mark', name: event.name }, 'upstream');
        return;
      case 'dtmf':
        this.emit({ type: 'dtmf', digit: event.digit });
        this.pipeline.inject({ type: 'dtmf', digit: event.digit, atMs: this.callTimeMs() });
        return;
      case 'hangup':
        void this.end(event.reason === CALLER_HUNG_UP ? 'caller_hangup' : event.reason, false);
        return;
    }
  }

  private onExit(frame: Frame, direction: Direction): void {
    if (direction !== 'upstream') return;
    if (frame.type === 'agent.speech.ended' || frame.type === 'agent.speech.interrupted') {
      const turnReason = this.turnEndReasons.get(frame.turnId);
      this.turnEndReasons.delete(frame.turnId);
      if (frame.type === 'agent.speech.ended' && frame.hangUpAfter) {
        void this.end(turnReason ?? this.hangUpReason, true);
      }
    }
  }

  private onMaxDuration(): void {
    this.emit({
      type: 'decision',
      decision: 'max_duration',
      reason: `the call reached its ${this.options.agent.maxDurationSeconds} s limit`,
    });
    if (this.muted) {
      void this.end('max_duration', true);
      return;
    }
    this.pipeline.interrupt('max duration');
    this.pipeline.inject({
      type: 'agent.say',
      text: this.options.agent.closingMessage,
      source: 'closing',
      turnId: this.pipeline.turns.begin().id,
      hangUpAfter: true,
    });
  }

  private end(reason: string, hangUpTransport: boolean): Promise<CallOutcome> {
    if (this.ending) return this.ending;
    this.ending = (async () => {
      this.maxDurationTimer?.cancel();
      this.watchdog.close();
      const durationMs = this.callTimeMs();
      await this.pipeline.close();
      if (hangUpTransport) {
        await this.options.transport
          .hangUp(reason)
          .catch((error: unknown) =>
            this.emit({ type: 'error', code: 'hangup_failed', message: String(error), fatal: false }),
          );
      }
      if (this.recorder) {
        await this.recorder
          .close(durationMs)
          .catch((error: unknown) =>
            this.emit({ type: 'error', code: 'recording_failed', message: String(error), fatal: false }),
          );
      }
      this.endAudioTap(reason);
      this.emit({ type: 'call.ended', reason, durationMs: Math.round(durationMs) });
      const outcome = { reason, durationMs };
      this.resolveEnded(outcome);
      return outcome;
    })();
    return this.ending;
  }

  private endAudioTap(reason: string): void {
    const entry = this.audioTap;
    if (!entry) return;
    this.audioTap = null;
    entry.tap.close();
    entry.onEnd(reason);
  }

  private callTimeMs(): number {
    return this.clock.now() - this.startedAtMs;
  }

  private emit(body: CallEventBody): void {
    if (body.type === 'decision' && body.decision === 'idle.hangup') this.hangUpReason = 'idle_timeout';
    if (body.type === 'decision' && body.decision === 'max_duration') this.hangUpReason = 'max_duration';
    const event = { ...body, seq: ++this.seq, atMs: Math.round(this.callTimeMs()) } as CallEvent;
    this.options.onEvent(event);
  }
}

/** Turns frames into the events that are not decisions: transcripts and the agent's speech. */
class SpeechEvents implements PipelineObserver {
  private readonly emit: (event: CallEventBody) => void;
  private readonly spoken = new Map<number, { source: string; text: string }>();

  constructor(emit: (event: CallEventBody) => void) {
    this.emit = emit;
  }

  onFrame({ frame, from, to }: FrameTransit): void {
    switch (frame.type) {
      case 'transcript.interim':
        if (from === 'stt') this.emit({ type: 'transcript.interim', text: frame.text });
        break;
      case 'transcript.final':
        if (from === 'stt' && frame.text.trim()) this.emit({ type: 'transcript.final', text: frame.text });
        break;
      case 'llm.text':
        if (to === 'tts') {
          const entry = this.spoken.get(frame.turnId);
          if (!entry) this.spoken.set(frame.turnId, { source: frame.source, text: '' });
        }
        break;
      case 'tts.clause.end':
        if (to === 'output') {
          const entry = this.spoken.get(frame.turnId);
          if (entry) entry.text += frame.text;
        }
        break;
      case 'agent.speech.started':
        if (to === null) {
          this.emit({
            type: 'agent.speech.started',
            turnId: frame.turnId,
            source: this.spoken.get(frame.turnId)?.source ?? 'llm',
          });
        }
        break;
      case 'agent.speech.ended':
        if (to === null) {
          const entry = this.spoken.get(frame.turnId);
          this.spoken.delete(frame.turnId);
          if (frame.spoke)
            this.emit({ type: 'agent.speech.ended', turnId: frame.turnId, text: entry?.text ?? '' });
        }
        break;
      case 'agent.speech.interrupted':
        if (to === null) this.spoken.delete(frame.turnId);
        break;
    }
  }
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
