// The conversation as the model sees it. Two rules keep it honest and valid:
// - the assistant's words are what the caller actually heard (barge-in truncates them), and
// - every tool call has its result and every result its call (model APIs reject anything else),
//   including after truncation, removal and window trimming.
import type { ChatMessage, ToolCall } from '../providers/llm.js';

export interface ContextWindow {
  /** At most this many history messages (the system prompt is not counted). */
  maxMessages?: number;
  /** At most this many characters of history content and tool arguments (system prompt not counted). */
  maxChars?: number;
}

/** One line of what was said, for call events and transcripts. */
export interface TranscriptLine {
  role: 'user' | 'assistant';
  text: string;
  /** The agent turn that said it (assistant lines only). */
  turnId?: number;
}

type Entry =
  | { kind: 'user'; text: string }
  | { kind: 'note'; text: string }
  | { kind: 'assistant'; turnId: number; text: string; toolCalls: ToolCall[] }
  | { kind: 'tool'; turnId: number; toolCallId: string; content: string };

type AssistantEntry = Extract<Entry, { kind: 'assistant' }>;

export class ConversationContext {
  private prompt: string;
  private readonly window: ContextWindow;
  private entries: Entry[] = [];
  /** Turns cut short by a barge-in: text generated after that was never heard. */
  private readonly truncatedTurns = new Set<number>();

  constructor(systemPrompt: string, window: ContextWindow = {}) {
    this.prompt = systemPrompt;
    this.window = window;
  }

  get systemPrompt(): string {
    return this.prompt;
  }

  /** Swaps the instructions (a flow moved to another node); the history stays. */
  setSystemPrompt(text: string): void {
    this.prompt = text;
  }

  /** The history (without the system prompt), as stored. */
  get messages(): ChatMessage[] {
    return this.entries.map(toMessage);
  }

  addUser(text: string): void {
    this.entries.push({ kind: 'user', text });
  }

  /** An instruction or fact for the model mid-call (a system message in the history). */
  addSystemNote(text: string): void {
    this.entries.push({ kind: 'note', text });
  }

  /** Starts (or restarts) the agent's reply for `turnId`; its text is added as it streams. */
  beginAssistant(turnId: number): void {
    this.truncatedTurns.delete(turnId);
  }

  /** Adds streamed text to the turn's current assistant message (a new one after tool results). */
  appendAssistantText(turnId: number, text: string): void {
    if (!text || this.truncatedTurns.has(turnId)) return;
    const last = this.lastEntryOfTurn(turnId);
    if (last?.kind === 'assistant' && last.toolCalls.length === 0) last.text += text;
    else this.entries.push({ kind: 'assistant', turnId, text, toolCalls: [] });
  }

  /** Records the tool calls the model made; they join the text that preceded them in one message. */
  addToolCalls(turnId: number, calls: readonly ToolCall[]): void {
    if (calls.length === 0) return;
    const last = this.lastEntryOfTurn(turnId);
    if (last?.kind === 'assistant') last.toolCalls.push(...calls.map((call) => ({ ...call })));
    else
      this.entries.push({
        kind: 'assistant',
        turnId,
        text: '',
        toolCalls: calls.map((call) => ({ ...call })),
      });
  }

  /** Records a tool's result right after its call (ignored for an unknown or answered call). */
  addToolResult(toolCallId: string, content: string): void {
    const callIndex = this.entries.findIndex(
      (entry) => entry.kind === 'assistant' && entry.toolCalls.some((call) => call.id === toolCallId),
    );
    if (callIndex < 0) return;
    if (this.entries.some((entry) => entry.kind === 'tool' && entry.toolCallId === toolCallId)) return;
    const owner = this.entries[callIndex] as AssistantEntry;
    // After the call and the results already given for it, so the pair stays together even if the
    // caller spoke meanwhile.
    let at = callIndex + 1;
    while (at < this.entries.length && this.entries[at]!.kind === 'tool') at++;
    this.entries.splice(at, 0, { kind: 'tool', turnId: owner.turnId, toolCallId, content });
  }

  /**
   * Barge-in: the turn's assistant text becomes what the caller heard (`heardText`, a prefix of the
   * text generated in the turn; when it is not, the longest common prefix counts). Assistant
   * messages left without text or tool calls disappear; tool calls and their results stay (the
   * tools did run). Text streamed for the turn afterwards is ignored.
   */
  truncateAssistant(turnId: number, heardText: string): void {
    this.truncatedTurns.add(turnId);
    const own = this.entries.filter((entry): entry is AssistantEntry => isAssistantOf(entry, turnId));
    const spoken = own.map((entry) => entry.text).join('');
    let remaining = commonPrefixLength(spoken, heardText);
    for (const entry of own) {
      const keep = Math.min(entry.text.length, remaining);
      entry.text = entry.text.slice(0, keep);
      remaining -= keep;
    }
    this.entries = this.entries.filter(
      (entry) => !(isAssistantOf(entry, turnId) && entry.text === '' && entry.toolCalls.length === 0),
    );
  }

  /**
   * Forgets a turn entirely: its assistant messages, tool calls and results, and the last user
   * message with `userText` (a speculative reply to a turn that turned out not to be over).
   */
  removeTurn(turnId: number, userText?: string): void {
    this.entries = this.entries.filter(
      (entry) => entry.kind === 'user' || entry.kind === 'note' || entry.turnId !== turnId,
    );
    if (userText !== undefined) {
      for (let i = this.entries.length - 1; i >= 0; i--) {
        const entry = this.entries[i]!;
        if (entry.kind === 'user' && entry.text === userText) {
          this.entries.splice(i, 1);
          break;
        }
      }
    }
    this.truncatedTurns.delete(turnId);
  }

  /**
   * What to send to the model: the system prompt, then the history. Assistant messages with no text
   * and no tool calls are left out, and so are tool calls still waiting for a result (with their
   * results never orphaned). The window (this call's, else the constructor's) drops the oldest user
   * turns first, keeping each tool call with its result.
   */
  messagesForRequest(window: ContextWindow = this.window): ChatMessage[] {
    const answered = new Set<string>();
    for (const entry of this.entries) if (entry.kind === 'tool') answered.add(entry.toolCallId);
    const history: ChatMessage[] = [];
    for (const entry of this.entries) {
      if (entry.kind === 'assistant') {
        const calls = entry.toolCalls.filter((call) => answered.has(call.id));
        if (entry.text === '' && calls.length === 0) continue;
        history.push(
          calls.length > 0
            ? { role: 'assistant', content: entry.text, toolCalls: calls.map((c) => ({ ...c })) }
            : { role: 'assistant', content: entry.text },
        );
      } else {
        history.push(toMessage(entry));
      }
    }
    return [{ role: 'system', content: this.prompt }, ...applyWindow(history, window)];
  }

  /** What was said, in order: one line per user message and per agent turn, as heard. */
  transcript(): TranscriptLine[] {
    const lines: TranscriptLine[] = [];
    const byTurn = new Map<number, TranscriptLine>();
    for (const entry of this.entries) {
      if (entry.kind === 'user') lines.push({ role: 'user', text: entry.text });
      if (entry.kind !== 'assistant' || entry.text === '') continue;
      const line = byTurn.get(entry.turnId);
      if (line && lines[lines.length - 1] === line) line.text += entry.text;
      else {
        const fresh: TranscriptLine = { role: 'assistant', text: entry.text, turnId: entry.turnId };
        byTurn.set(entry.turnId, fresh);
        lines.push(fresh);
      }
    }
    return lines;
  }

  private lastEntryOfTurn(turnId: number): Entry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i]!;
      if ((entry.kind === 'assistant' || entry.kind === 'tool') && entry.turnId === turnId) return entry;
    }
    return undefined;
  }
}

function isAssistantOf(entry: Entry, turnId: number): entry is AssistantEntry {
  return entry.kind === 'assistant' && entry.turnId === turnId;
}

function toMessage(entry: Entry): ChatMessage {
  switch (entry.kind) {
    case 'user':
      return { role: 'user', content: entry.text };
    case 'note':
      return { role: 'system', content: entry.text };
    case 'assistant':
      return entry.toolCalls.length > 0
        ? { role: 'assistant', content: entry.text, toolCalls: entry.toolCalls.map((call) => ({ ...call })) }
        : { role: 'assistant', content: entry.text };
    case 'tool':
      return { role: 'tool', toolCallId: entry.toolCallId, content: entry.content };
  }
}

function commonPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function messageSize(message: ChatMessage): number {
  let size = message.content.length;
  if (message.role === 'assistant')
    for (const call of message.toolCalls ?? []) size += call.name.length + call.arguments.length;
  return size;
}

/**
 * Trims the oldest history to fit the window. Whole user turns go first (a group starts at each
 * user message); if the newest turn alone is too big, its oldest units go, where a unit is a message
 * or an assistant tool-call message with its results. The newest unit always stays.
 */
function applyWindow(history: ChatMessage[], window: ContextWindow): ChatMessage[] {
  const maxMessages = window.maxMessages ?? Number.POSITIVE_INFINITY;
  const maxChars = window.maxChars ?? Number.POSITIVE_INFINITY;
  const fits = (units: ChatMessage[][]) => {
    const messages = units.flat();
    return messages.length <= maxMessages && messages.reduce((sum, m) => sum + messageSize(m), 0) <= maxChars;
  };
  const units = toUnits(history);
  if (fits(units)) return history;
  // Drop whole turns: cut the unit list at the start of the oldest group that still fits.
  const groupStarts = units.flatMap((unit, index) => (index > 0 && unit[0]!.role === 'user' ? [index] : []));
  for (const start of groupStarts) {
    if (fits(units.slice(start))) return units.slice(start).flat();
  }
  let from = groupStarts[groupStarts.length - 1] ?? 0;
  while (from < units.length - 1 && !fits(units.slice(from))) from++;
  return units.slice(from).flat();
}

/** Groups messages so a tool-call message and its results are never separated. */
function toUnits(history: ChatMessage[]): ChatMessage[][] {
  const units: ChatMessage[][] = [];
  for (const message of history) {
    const previous = units[units.length - 1];
    if (message.role === 'tool' && previous) previous.push(message);
    else units.push([message]);
  }
  return units;
}
