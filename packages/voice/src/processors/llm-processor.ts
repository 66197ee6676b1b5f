// The agent's voice of reason: keeps the conversation context, runs the model on each committed user
// turn, cuts its text into clauses for synthesis, runs tool calls (in parallel, bounded rounds) and
// feeds their results back. On barge-in the context keeps only what the caller actually heard.
import { ClauseChunker } from '../llm/clause-chunker.js';
import { ConversationContext } from '../llm/context.js';
import { runToolCalls } from '../llm/tool-runner.js';
import type { Direction, Frame, FrameOf, UtteranceSource } from '../pipeline/frames.js';
import { FrameProcessor } from '../pipeline/processor.js';
import { isAbort, ProviderError } from '../providers/errors.js';
import type { LlmProvider, ToolCall } from '../providers/llm.js';
import type { LatencyTracker } from '../session/latency.js';
import type { ToolExecutor } from '../tools/executor.js';

export interface LlmProcessorOptions {
  llm: LlmProvider;
  systemPrompt: string;
  tools?: ToolExecutor;
  temperature?: number;
  maxTokens?: number;
  /** Model requests per turn that may end in tool calls before the model must answer in words. */
  maxToolRounds?: number;
  toolTimeoutMs?: number;
  /** Say `slowToolMessage` when a tool runs longer than this (null: never). */
  slowToolAfterMs?: number | null;
  slowToolMessage?: string;
  /** Spoken when every model provider failed; the call goes on. */
  apologyMessage?: string;
  /** Identifies the call to tools (logs, idempotency). */
  callId: string;
  latency?: LatencyTracker;
}

interface TurnText {
  /** Everything generated (or said) in the turn, in order. */
  spoken: string;
}

export class LlmProcessor extends FrameProcessor {
  readonly name = 'llm';
  readonly context: ConversationContext;
  private readonly options: LlmProcessorOptions;
  private toolFilter: ReadonlySet<string> | null = null;
  private readonly turnText = new Map<number, TurnText>();
  /** Unheard text of interrupted turns, for resuming after a false interruption. */
  private readonly unheard = new Map<number, string>();
  /** Speculative drafts: their clauses wait here until the turn is confirmed. */
  private readonly held = new Map<number, { frames: Frame[]; confirmed: boolean; onConfirmed: () => void }>();
  /** While muted (see setMuted) nothing is spoken but a supervisor's words. */
  private muted = false;
  /** Draft turns that arrived while muted: their text enters the context only once confirmed. */
  private readonly mutedDrafts = new Map<number, string>();

  constructor(options: LlmProcessorOptions) {
    super();
    this.options = options;
    this.context = new ConversationContext(options.systemPrompt);
  }

  /**
   * Mutes or unmutes the agent. While muted, the caller's turns still enter the context but get no
   * reply, and nothing else is spoken (greetings, reminders, resumes, dead-air recovery) except a
   * supervisor's `agent.say`. Stopping what is being said is the session's interruption, not this.
   */
  setMuted(muted: boolean): void {
    this.muted = muted;
    if (!muted) this.mutedDrafts.clear();
  }

  protected override async process(frame: Frame, direction: Direction): Promise<void> {
    if (this.muted && this.silenced(frame)) return;
    switch (frame.type) {
      case 'user.turn':
        if (frame.speculative) await this.runSpeculative(frame);
        else {
          this.context.addUser(frame.text);
          await this.respond(frame.turnId, 'llm');
        }
        return;
      case 'user.turn.confirmed':
        this.confirmSpeculative(frame.turnId);
        return;
      case 'agent.say':
        this.say(frame.turnId, frame.text, frame.source, frame.hangUpAfter ?? false);
        return;
      case 'agent.resume':
        this.resume(frame);
        return;
      case 'llm.run':
        await this.respond(frame.turnId, 'llm');
        return;
      case 'agent.speech.interrupted':
        this.truncate(frame.turnId, frame.heardText);
        break;
      case 'context.update':
        if (frame.systemPrompt !== undefined) this.context.setSystemPrompt(frame.systemPrompt);
        if (frame.toolNames !== undefined) this.toolFilter = new Set(frame.toolNames);
        return;
      case 'context.append':
        if (frame.role === 'user') this.context.addUser(frame.text);
        else this.context.addSystemNote(frame.text);
        return;
    }
    this.push(frame, direction);
  }

  // --- muted ---------------------------------------------------------------------------------------

  /** Whether muting swallows `frame` (after keeping what the caller said); false lets it through. */
  private silenced(frame: Frame): boolean {
    switch (frame.type) {
      case 'user.turn':
        if (frame.speculative) {
          // No draft is written while muted; the text waits for the turn's confirmation.
          this.mutedDrafts.set(frame.turnId, frame.text);
          if (this.mutedDrafts.size > 8) this.mutedDrafts.delete(this.mutedDrafts.keys().next().value!);
          return true;
        }
        this.context.addUser(frame.text);
        this.unanswered(frame.turnId, 'the caller’s turn is in the context, unanswered');
        return true;
      case 'user.turn.confirmed': {
        const text = this.mutedDrafts.get(frame.turnId);
        if (text === undefined) return false;
        this.mutedDrafts.delete(frame.turnId);
        this.context.addUser(text);
        this.unanswered(frame.turnId, 'the caller’s turn is in the context, unanswered');
        return true;
      }
      case 'agent.say':
        // A supervisor's words are the one thing a muted agent says.
        if (frame.source === 'supervisor') return false;
        this.unanswered(frame.turnId, `a ${frame.source} line was not said`);
        return true;
      case 'agent.resume':
      case 'llm.run':
        this.unanswered(frame.turnId, 'the agent did not speak on its own');
        return true;
      case 'llm.text':
        // Only text injected ahead of this stage (a dead-air filler) arrives here; it is not said.
        return true;
      default:
        return false;
    }
  }

  /** Closes an agent turn that will say nothing, so turn-taking does not wait on it. */
  private unanswered(turnId: number, reason: string): void {
    this.ctx.turns.finish(turnId);
    this.options.latency?.drop(turnId);
    this.ctx.emit({ type: 'decision', decision: 'muted', reason: `the agent is muted: ${reason}` });
  }

  // --- responses ----------------------------------------------------------------------------------

  /** Runs the model (and its tool rounds) for a turn; frames go out as the text streams in. */
  private async respond(
    turnId: number,
    source: UtteranceSource,
    emit = (f: Frame) => this.push(f),
    beforeTools: () => Promise<void> = async () => {},
  ): Promise<void> {
    const signal = this.ctx.turns.signal(turnId);
    if (signal.aborted) return;
    const maxRounds = this.options.maxToolRounds ?? 3;
    let endCall = false;
    this.context.beginAssistant(turnId);
    emit({ type: 'llm.response.start', turnId });
    try {
      for (let round = 0; ; round++) {
        const allowTools = round < maxRounds;
        const calls = await this.streamCompletion(turnId, source, allowTools, emit);
        if (signal.aborted) return;
        if (calls.length === 0) break;
        await beforeTools();
        if (signal.aborted) return;
        const after = await this.runTools(turnId, calls, emit);
        endCall = after.endCall || endCall;
        if (signal.aborted) return;
        if (after.say !== null) {
          this.sayInTurn(turnId, after.say, emit);
          break;
        }
        if (round + 1 === maxRounds) {
          this.ctx.emit({
            type: 'decision',
            decision: 'tool_rounds.exhausted',
            reason: `the model asked for tools ${maxRounds} times in one turn; answering without tools`,
          });
        }
      }
    } catch (error) {
      if (isAbort(error, signal)) return;
      this.apologise(turnId, error, emit);
    } finally {
      if (!signal.aborted) emit({ type: 'llm.response.end', turnId, hangUpAfter: endCall });
    }
  }

  /** One model request: streams clauses out, returns the tool calls it asked for. */
  private async streamCompletion(
    turnId: number,
    source: UtteranceSource,
    allowTools: boolean,
    emit: (frame: Frame) => void,
  ): Promise<ToolCall[]> {
    const signal = this.ctx.turns.signal(turnId);
    const chunker = new ClauseChunker();
    const calls: ToolCall[] = [];
    const tools = allowTools ? this.toolDefinitions() : [];
    this.options.latency?.mark(turnId, 'llmRequest', this.ctx.callTimeMs());
    const stream = this.options.llm.chat({
      messages: this.context.messagesForRequest(),
      ...(tools.length > 0 ? { tools } : {}),
      ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
      ...(this.options.maxTokens !== undefined ? { maxTokens: this.options.maxTokens } : {}),
      signal,
    });
    // The first clause goes to synthesis token by token (its end marked when the chunker cuts it);
    // later clauses, which are synthesised ahead of playback anyway, go whole.
    let firstClausePending = true;
    let generated = '';
    let cutLength = 0;
    let firstClauseSent = 0;
    let skip = 0;
    for await (const event of stream) {
      if (signal.aborted) break;
      if (event.type === 'text') {
        if (!event.text) continue;
        this.options.latency?.mark(turnId, 'llmFirstToken', this.ctx.callTimeMs());
        this.context.appendAssistantText(turnId, event.text);
        this.record(turnId, event.text);
        generated += event.text;
        for (const clause of chunker.push(event.text)) {
          cutLength += clause.length;
          if (firstClausePending) {
            firstClausePending = false;
            // What was streamed past the chunker's cut already belongs to the first clause.
            skip = Math.max(0, firstClauseSent - clause.length);
            emit({ type: 'llm.text', text: clause.slice(firstClauseSent), turnId, source, clauseEnd: true });
          } else {
            const text = clause.slice(skip);
            skip = Math.max(0, skip - clause.length);
            if (text) emit({ type: 'llm.text', text, turnId, source });
          }
        }
        if (firstClausePending) {
          const piece = generated.slice(cutLength + firstClauseSent);
          if (piece) {
            firstClauseSent += piece.length;
            emit({ type: 'llm.text', text: piece, turnId, source, clauseEnd: false });
          }
        }
      } else if (event.type === 'tool_call') {
        calls.push(event.call);
      }
    }
    if (signal.aborted) return calls;
    const rest = chunker.flush();
    if (firstClausePending && firstClauseSent > 0) {
      emit({ type: 'llm.text', text: (rest ?? '').slice(firstClauseSent), turnId, source, clauseEnd: true });
    } else if (rest && rest.slice(skip)) {
      emit({ type: 'llm.text', text: rest.slice(skip), turnId, source });
    }
    return calls;
  }

  /**
   * Runs one round of tool calls: whether a tool asked to end the call after the reply, and the words
   * a tool gave for that reply (instead of another model round), if any.
   */
  private async runTools(
    turnId: number,
    calls: ToolCall[],
    emit: (frame: Frame) => void,
  ): Promise<{ endCall: boolean; say: string | null }> {
    const executor = this.options.tools;
    const signal = this.ctx.turns.signal(turnId);
    this.context.addToolCalls(turnId, calls);
    for (const call of calls) {
      this.ctx.emit({
        type: 'tool.called',
        turnId,
        toolCallId: call.id,
        name: call.name,
        arguments: call.arguments,
      });
      emit({ type: 'tool.call', call, turnId });
    }
    let endCall = false;
    let say: string | null = null;
    const slowAfterMs = this.options.slowToolAfterMs === undefined ? 1500 : this.options.slowToolAfterMs;
    try {
      const results = await runToolCalls({
        calls,
        executor: executor ?? NO_TOOLS,
        callId: this.options.callId,
        signal,
        clock: this.ctx.clock,
        timeoutMs: this.options.toolTimeoutMs ?? 10_000,
        slowAfterMs: slowAfterMs ?? Number.POSITIVE_INFINITY,
        onSlow: (running) => {
          if (slowAfterMs === null || signal.aborted) return;
          // The first slow tool with its own line says it; otherwise the session's line.
          const toolLine = running
            .map((call) => executor?.policy?.(call.name)?.waitingMessage)
            .find((line) => line !== undefined && line.trim() !== '');
          const text = toolLine ?? this.options.slowToolMessage ?? 'One moment, please.';
          this.ctx.emit({
            type: 'decision',
            decision: 'tool.slow',
            reason: `a tool is still running after ${slowAfterMs} ms`,
          });
          emit({ type: 'llm.text', text, turnId, source: 'filler' });
        },
      });
      for (const { call, outcome, durationMs } of results) {
        this.context.addToolResult(call.id, outcome.content);
        if (outcome.status === 'ok' && outcome.endCall) endCall = true;
        if (outcome.status === 'ok' && outcome.say)
          say = say === null ? outcome.say : `${say} ${outcome.say}`;
        this.ctx.emit({
          type: 'tool.result',
          turnId,
          toolCallId: call.id,
          name: call.name,
          status: outcome.status,
          ...(outcome.status === 'error' ? { code: outcome.code } : {}),
          content: outcome.content,
          durationMs: Math.round(durationMs),
        });
        emit({ type: 'tool.result', call, outcome, durationMs, turnId });
      }
    } catch (error) {
      // Interrupted mid-tool: every call still needs a result so the context stays valid.
      for (const call of calls) this.context.addToolResult(call.id, '{"error":"interrupted by the caller"}');
      throw error;
    }
    return { endCall, say };
  }

  /** A tool's fixed reply, said within the model's turn (it is part of the conversation). */
  private sayInTurn(turnId: number, words: string, emit: (frame: Frame) => void): void {
    const before = this.turnText.get(turnId)?.spoken ?? '';
    const text = before && !/\s$/.test(before) ? ` ${words}` : words;
    this.context.appendAssistantText(turnId, text);
    this.record(turnId, text);
    emitClauses(turnId, text, 'llm', emit);
  }

  private toolDefinitions() {
    const all = this.options.tools?.definitions() ?? [];
    const filter = this.toolFilter;
    return filter ? all.filter((tool) => filter.has(tool.name)) : all;
  }

  private apologise(turnId: number, error: unknown, emit: (frame: Frame) => void): void {
    const category = error instanceof ProviderError ? error.category : 'internal';
    this.ctx.emit({
      type: 'error',
      code: `llm_${category}`,
      message: error instanceof Error ? error.message : String(error),
      fatal: false,
    });
    const text =
      this.options.apologyMessage ?? 'Sorry, I am having trouble right now. Could you say that again?';
    this.ctx.emit({ type: 'decision', decision: 'apology', reason: 'every model provider failed' });
    this.context.appendAssistantText(turnId, text);
    this.record(turnId, text);
    emit({ type: 'llm.text', text, turnId, source: 'apology' });
  }

  // --- fixed utterances ---------------------------------------------------------------------------

  private say(turnId: number, text: string, source: UtteranceSource, hangUpAfter: boolean): void {
    if (this.ctx.turns.signal(turnId).aborted) return;
    // Fillers are not part of the conversation; everything else the caller hears is.
    if (source !== 'filler') {
      this.context.beginAssistant(turnId);
      this.context.appendAssistantText(turnId, text);
    }
    this.record(turnId, text);
    this.push({ type: 'llm.response.start', turnId });
    emitClauses(turnId, text, source, (frame) => this.push(frame));
    this.push({ type: 'llm.response.end', turnId, hangUpAfter });
  }

  private resume(frame: FrameOf<'agent.resume'>): void {
    const remainder = this.unheard.get(frame.interruptedTurnId)?.trim();
    this.unheard.delete(frame.interruptedTurnId);
    if (!remainder) {
      this.push({ type: 'llm.response.start', turnId: frame.turnId });
      this.push({ type: 'llm.response.end', turnId: frame.turnId });
      return;
    }
    this.say(frame.turnId, remainder, 'llm', false);
  }

  private record(turnId: number, text: string): void {
    const entry = this.turnText.get(turnId);
    if (entry) entry.spoken += text;
    else this.turnText.set(turnId, { spoken: text });
    // Only recent turns can still be interrupted or resumed.
    if (this.turnText.size > 16) this.turnText.delete(this.turnText.keys().next().value!);
  }

  private truncate(turnId: number, heardText: string): void {
    this.context.truncateAssistant(turnId, heardText);
    const spoken = this.turnText.get(turnId)?.spoken ?? '';
    const remainder = spoken.startsWith(heardText) ? spoken.slice(heardText.length) : '';
    if (remainder.trim()) this.unheard.set(turnId, remainder);
    if (this.unheard.size > 4) this.unheard.delete(this.unheard.keys().next().value!);
  }

  // --- speculative replies -----------------------------------------------------------------------

  /** Runs the model on a draft turn, holding its output until turn-taking confirms the turn. */
  private async runSpeculative(frame: FrameOf<'user.turn'>): Promise<void> {
    let onConfirmed = () => {};
    const confirmed = new Promise<void>((resolve) => (onConfirmed = resolve));
    const entry = { frames: [] as Frame[], confirmed: false, onConfirmed };
    this.held.set(frame.turnId, entry);
    this.context.addUser(frame.text);
    const emit = (out: Frame) => (entry.confirmed ? this.push(out) : entry.frames.push(out));
    const signal = this.ctx.turns.signal(frame.turnId);
    // Tools have effects in the world: a draft never runs them before the turn is confirmed.
    const untilConfirmed = () =>
      new Promise<void>((resolve) => {
        if (entry.confirmed || signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
        void confirmed.then(resolve);
      });
    try {
      await this.respond(frame.turnId, 'llm', emit, untilConfirmed);
      // A quick draft may be complete before the turn is: keep it until turn-taking decides.
      await untilConfirmed();
    } finally {
      this.held.delete(frame.turnId);
      if (!entry.confirmed) this.context.removeTurn(frame.turnId, frame.text);
    }
  }

  private confirmSpeculative(turnId: number): void {
    const entry = this.held.get(turnId);
    if (!entry || entry.confirmed) return;
    entry.confirmed = true;
    for (const frame of entry.frames.splice(0)) this.push(frame);
    entry.onConfirmed();
  }
}

const NO_TOOLS: ToolExecutor = {
  definitions: () => [],
  execute: async ({ call }) => ({
    status: 'error',
    code: 'unknown_tool',
    content: JSON.stringify({ error: `No tool named ${call.name} is available` }),
  }),
};

/** A fixed text as the model's clauses would come: cut where speech pauses, so synthesis can start early. */
function emitClauses(
  turnId: number,
  text: string,
  source: UtteranceSource,
  emit: (frame: Frame) => void,
): void {
  const chunker = new ClauseChunker();
  for (const clause of chunker.push(text)) emit({ type: 'llm.text', text: clause, turnId, source });
  const rest = chunker.flush();
  if (rest) emit({ type: 'llm.text', text: rest, turnId, source });
}
