// The log of an organization's live events (docs/api.md, "Live events"): the voice runtime and the
// status changes append to it, and every SSE or WebSocket client of the organization reads from it,
// resuming after the last event it saw. In one process the log is a ring in memory; across processes
// it is a Redis stream per organization (create-live-event-log.ts chooses, like the command bus).
import type { FastifyBaseLogger } from 'fastify';
import type { LiveEvent, LiveEventInput } from '@parley/contracts';
import { describeError } from '../logger.js';

export interface LiveEventListener {
  /** One event, in id order, never twice. */
  event(event: LiveEvent): void;
  /**
   * The id to resume after is older than what the log keeps: events were missed. Comes first, before
   * the events that follow from now on; `newestId` is where those follow from (null: none yet).
   */
  reset(newestId: string | null): void;
}

export interface LiveEventSubscription {
  /** Stops the deliveries; the log forgets the listener. */
  close(): void;
}

export interface LiveEventLog {
  /**
   * Adds an event of `organizationId`'s. Returns at once: the voice session calls it from its own
   * stack, so it never waits for a broker and never throws (an event that cannot be stored is lost,
   * and logged by count).
   */
  append(organizationId: string, event: LiveEventInput): void;
  /**
   * Delivers `organizationId`'s events to `listener`: those after `after` first (or a reset when
   * they are no longer kept), then the new ones as they come. Without `after`, only new ones.
   */
  subscribe(
    organizationId: string,
    options: { after?: string | undefined },
    listener: LiveEventListener,
  ): Promise<LiveEventSubscription>;
  /**
   * Removes every kept event of `callId` (right to erasure): a client resuming from an older id no
   * longer receives them. Events already delivered are the clients' own.
   */
  forgetCall(organizationId: string, callId: string): Promise<void>;
  /** Writes what is pending and stops every subscription. */
  close(): Promise<void>;
}

/** How much an organization's log keeps: the last `maxEvents`, for at most `maxAgeMs`. */
export interface LiveEventRetention {
  maxEvents: number;
  maxAgeMs: number;
}

export const DEFAULT_LIVE_EVENT_RETENTION: LiveEventRetention = { maxEvents: 5_000, maxAgeMs: 10 * 60_000 };

/** An event id (`<ms>-<seq>`) as numbers, to compare. */
export interface ParsedEventId {
  ms: number;
  seq: number;
}

export function parseEventId(id: string): ParsedEventId | null {
  const match = /^(\d{1,15})-(\d{1,10})$/.exec(id);
  if (!match) return null;
  return { ms: Number(match[1]), seq: Number(match[2]) };
}

/** Negative when `a` came before `b`, 0 when the same, positive after. */
export function compareEventIds(a: ParsedEventId, b: ParsedEventId): number {
  return a.ms === b.ms ? a.seq - b.seq : a.ms - b.ms;
}

export const formatEventId = (id: ParsedEventId) => `${id.ms}-${id.seq}`;

/**
 * One listener's place in the log. Live events that arrive while it is still catching up (replaying
 * what came after its id) wait in a buffer; every event at or before the last one delivered is
 * dropped, so the replay and the live events may overlap without a duplicate and, as the live side
 * joins before the replay is read, without a gap.
 */
export class LiveEventCursor {
  private position: ParsedEventId | null = null;
  private buffered: LiveEvent[] | null = [];
  private closed = false;

  constructor(
    private readonly listener: LiveEventListener,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** A live event from the log's fan-out. */
  push(event: LiveEvent): void {
    if (this.closed) return;
    if (this.buffered) this.buffered.push(event);
    else this.deliver(event);
  }

  /**
   * Caught up: `position` is the last event the listener had (the given id, or the newest one when it
   * starts from now or after a reset), `replay` what followed it.
   */
  start(position: ParsedEventId | null, replay: readonly LiveEvent[], reset: boolean): void {
    if (this.closed) return;
    this.position = position;
    if (reset) this.safely(() => this.listener.reset(position ? formatEventId(position) : null));
    for (const event of replay) this.deliver(event);
    const buffered = this.buffered ?? [];
    this.buffered = null;
    for (const event of buffered) this.deliver(event);
  }

  close(): void {
    this.closed = true;
    this.buffered = null;
  }

  private deliver(event: LiveEvent): void {
    if (this.closed) return;
    const id = parseEventId(event.id);
    if (!id) return;
    if (this.position && compareEventIds(id, this.position) <= 0) return;
    this.position = id;
    this.safely(() => this.listener.event(event));
  }

  private safely(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.logger.warn({ error: describeError(error) }, 'live event listener failed');
    }
  }
}
