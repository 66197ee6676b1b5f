// Writes a live call's timeline as it happens: its ordered events and its transcript turns. A voice
// session reports events synchronously and must never wait for the database, so they are buffered and
// written in one transaction every `flushIntervalMs` (default 500 ms): a crash loses at most that
// much. A failed write keeps its rows and is retried at the next flush; the end of the call flushes
// everything before the call row is closed.
import { callEvents, calls, eq, and, transcriptTurns, type Database } from '@parley/db';
import { callStatusEvents } from '../webhooks/call-status-events.js';
import { enqueueWebhookEvents, type WebhookEventInput } from '../webhooks/enqueue-webhook-event.js';

/** A session event as the runtime reports it: ordered by `seq`, timed in ms since the call started. */
export interface JournalEvent {
  seq: number;
  atMs: number;
  type: string;
  [field: string]: unknown;
}

export interface CallJournalOptions {
  /** Longest time an event waits in memory before it is written. Default 500 ms. */
  flushIntervalMs?: number;
  /** A write failed (it will be retried); for the runtime's log, without the call's content. */
  onWriteError?: (error: unknown) => void;
  /** The clock of the customers' webhook events; the system clock unless a test pins it. */
  now?: () => Date;
}

/** How the call ended, written to the call row once the last events are in. */
export interface CallOutcome {
  status: string;
  endReason: string;
  endedAt: Date;
  recordingPath?: string;
  recordingDurationMs?: number;
  latency?: Record<string, unknown>;
}

type EventRow = typeof callEvents.$inferInsert;
type TurnRow = typeof transcriptTurns.$inferInsert;
type WebhookEvent = Omit<WebhookEventInput, 'organizationId'>;

/** Writes tried when the call closes before it gives up (each retries the failed ones, and takes new ones). */
const MAX_CLOSING_WRITES = 5;

/** Interim words are superseded by the finals and the turns; storing them would only add volume. */
const UNSTORED_EVENTS = new Set(['transcript.interim']);

export class CallJournal {
  private events: EventRow[] = [];
  private turns: TurnRow[] = [];
  private turnSeq = 0;
  /** Customers' webhook events, queued in the same transaction as the rows they report. */
  private webhookEvents: WebhookEvent[] = [];
  /** The arguments of tool calls still running, for the `call.tool_called` event of their result. */
  private readonly toolArguments = new Map<string, unknown>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> = Promise.resolve();
  private readonly flushIntervalMs: number;

  constructor(
    private readonly db: Database,
    private readonly call: { id: string; organizationId: string },
    private readonly options: CallJournalOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
  }

  /** Buffers an event (and the transcript turn it completes, if any); never blocks the caller. */
  record(event: JournalEvent): void {
    if (UNSTORED_EVENTS.has(event.type)) return;
    const { seq, atMs, type, ...data } = event;
    this.events.push({
      callId: this.call.id,
      organizationId: this.call.organizationId,
      seq,
      type,
      atMs: Math.round(atMs),
      data,
    });
    const turn = transcriptTurnOf(event);
    if (turn) {
      this.turns.push({
        callId: this.call.id,
        organizationId: this.call.organizationId,
        seq: ++this.turnSeq,
        atMs: Math.round(atMs),
        ...turn,
      });
    }
    const webhookEvent = this.webhookEventOf(event, turn);
    if (webhookEvent) this.webhookEvents.push(webhookEvent);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.flushIntervalMs);
  }

  /** Writes everything buffered so far (after any write already under way). */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.writeBuffered());
    return this.writing;
  }

  /**
   * Names the recording file on the call as soon as it is opened: a call cut short by a crash keeps
   * the audio written until then (the file's header is kept current as it grows).
   */
  async recordingStarted(recordingPath: string): Promise<void> {
    await this.db
      .update(calls)
      .set({ recordingPath })
      .where(and(eq(calls.id, this.call.id), eq(calls.organizationId, this.call.organizationId)));
  }

  /** Final flush, then the call row gets its outcome. Rejects if the last events cannot be written. */
  async close(outcome: CallOutcome): Promise<void> {
    // Events can still arrive while the last ones are written (a transcript racing the hang-up), so
    // the journal writes until nothing is left; only writes that keep failing stop the close.
    // (At least one flush: it also waits for a write already under way.)
    for (let round = 0; round < MAX_CLOSING_WRITES; round++) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.flush();
      if (!this.hasBuffered()) break;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.hasBuffered()) {
      throw new Error(`call ${this.call.id}: the last events could not be written`);
    }
    await this.db.transaction(async (tx) => {
      const [before] = await tx
        .select({ status: calls.status })
        .from(calls)
        .where(and(eq(calls.id, this.call.id), eq(calls.organizationId, this.call.organizationId)))
        .for('update');
      const [closed] = await tx
        .update(calls)
        .set({
          status: outcome.status,
          endReason: outcome.endReason,
          endedAt: outcome.endedAt,
          updatedAt: outcome.endedAt,
          ...(outcome.recordingPath === undefined ? {} : { recordingPath: outcome.recordingPath }),
          ...(outcome.recordingDurationMs === undefined
            ? {}
            : { recordingDurationMs: Math.round(outcome.recordingDurationMs) }),
          ...(outcome.latency === undefined ? {} : { latency: outcome.latency }),
        })
        .where(and(eq(calls.id, this.call.id), eq(calls.organizationId, this.call.organizationId)))
        .returning();
      if (!before || !closed) return;
      await enqueueWebhookEvents(
        tx,
        this.call.organizationId,
        await callStatusEvents(tx, before.status, closed, outcome.endedAt),
      );
    });
  }

  private hasBuffered(): boolean {
    return this.events.length > 0 || this.turns.length > 0 || this.webhookEvents.length > 0;
  }

  /** What a customer's endpoint hears of this event: each final turn, and each tool call once it returned. */
  private webhookEventOf(event: JournalEvent, turn: Pick<TurnRow, 'role' | 'text' | 'interrupted'> | null) {
    const occurredAt = this.options.now?.() ?? new Date();
    const callId = this.call.id;
    const atMs = Math.round(event.atMs);
    if (turn) {
      const data = {
        callId,
        seq: this.turnSeq,
        role: turn.role,
        text: turn.text,
        interrupted: turn.interrupted,
        atMs,
      };
      return { type: 'call.transcript' as const, occurredAt, data };
    }
    if (event.type === 'tool.called' && typeof event.toolCallId === 'string') {
      this.toolArguments.set(event.toolCallId, parsedArguments(event.arguments));
      return null;
    }
    if (event.type === 'tool.result' && typeof event.toolCallId === 'string') {
      const args = this.toolArguments.get(event.toolCallId) ?? null;
      this.toolArguments.delete(event.toolCallId);
      const data = {
        callId,
        toolCallId: event.toolCallId,
        name: event.name,
        arguments: args,
        status: event.status,
        errorCode: event.code ?? null,
        durationMs: event.durationMs,
        atMs,
      };
      return { type: 'call.tool_called' as const, occurredAt, data };
    }
    return null;
  }

  private async writeBuffered(): Promise<void> {
    if (this.events.length === 0 && this.turns.length === 0) return;
    const events = this.events;
    const turns = this.turns;
    const webhookEvents = this.webhookEvents;
    this.events = [];
    this.turns = [];
    this.webhookEvents = [];
    try {
      await this.db.transaction(async (tx) => {
        if (events.length > 0) await tx.insert(callEvents).values(events).onConflictDoNothing();
        if (turns.length > 0) await tx.insert(transcriptTurns).values(turns).onConflictDoNothing();
        await enqueueWebhookEvents(tx, this.call.organizationId, webhookEvents);
      });
    } catch (error) {
      // Put them back in front of anything recorded meanwhile, in order, for the next flush.
      this.events = [...events, ...this.events];
      this.turns = [...turns, ...this.turns];
      this.webhookEvents = [...webhookEvents, ...this.webhookEvents];
      this.options.onWriteError?.(error);
      this.timer ??= setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.flushIntervalMs);
    }
  }
}

/** The caller's committed turns, and what the caller heard of the agent (all of it, or up to a barge-in). */
function transcriptTurnOf(event: JournalEvent): Pick<TurnRow, 'role' | 'text' | 'interrupted'> | null {
  const text = (field: string) => (typeof event[field] === 'string' ? (event[field] as string) : '');
  switch (event.type) {
    case 'user.turn':
      return { role: 'user', text: text('text'), interrupted: false };
    case 'agent.speech.ended':
      return text('text') ? { role: 'agent', text: text('text'), interrupted: false } : null;
    case 'agent.speech.interrupted':
      return { role: 'agent', text: text('heardText'), interrupted: true };
    default:
      return null;
  }
}

/** Tool arguments arrive as the model's JSON text; receivers get the object when it parses. */
function parsedArguments(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw ?? null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
