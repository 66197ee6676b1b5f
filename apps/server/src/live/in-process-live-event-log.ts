// The live event log of a single process (the embedded default): per organization, a ring of its last
// events in memory. Ids are `<ms>-<seq>` like Redis stream ids and only grow, so a client's id from
// before a restart is older than the process and gets a reset. Appending only stores and schedules the
// fan-out, which runs later in a microtask, never in the voice session's own stack.
import type { FastifyBaseLogger } from 'fastify';
import type { LiveEvent, LiveEventInput } from '@parley/contracts';
import {
  compareEventIds,
  DEFAULT_LIVE_EVENT_RETENTION,
  formatEventId,
  LiveEventCursor,
  parseEventId,
  type LiveEventListener,
  type LiveEventLog,
  type LiveEventRetention,
  type LiveEventSubscription,
  type ParsedEventId,
} from './live-event-log.js';

interface OrganizationLog {
  /** Oldest first; `head` is the index of the oldest kept (the array is compacted now and then). */
  ring: { id: ParsedEventId; event: LiveEvent }[];
  head: number;
  /** The newest event ever dropped from the ring: resuming before it would miss events. */
  lastDropped: ParsedEventId | null;
  /** The log's newest id when this record began: of what came before, it knows nothing. */
  since: ParsedEventId;
  cursors: Set<LiveEventCursor>;
}

/** How often an append also trims the organizations that have had no events lately. */
const SWEEP_INTERVAL_MS = 60_000;

export interface InProcessLiveEventLogOptions {
  logger: FastifyBaseLogger;
  retention?: Partial<LiveEventRetention>;
  /** The clock of the ids; the system clock unless a test pins it. */
  nowMs?: () => number;
}

export class InProcessLiveEventLog implements LiveEventLog {
  private readonly organizations = new Map<string, OrganizationLog>();
  private readonly retention: LiveEventRetention;
  private readonly nowMs: () => number;
  /** Events before this one were never in this process's memory. */
  private readonly startedAt: ParsedEventId;
  private last: ParsedEventId;
  private pending: { organization: OrganizationLog; event: LiveEvent }[] = [];
  private lastSweepMs: number;
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly options: InProcessLiveEventLogOptions) {
    this.retention = { ...DEFAULT_LIVE_EVENT_RETENTION, ...options.retention };
    this.nowMs = options.nowMs ?? Date.now;
    this.startedAt = { ms: this.nowMs(), seq: 0 };
    this.last = this.startedAt;
    this.lastSweepMs = this.startedAt.ms;
  }

  append(organizationId: string, input: LiveEventInput): void {
    if (this.closed) return;
    const organization = this.organizationOf(organizationId);
    const id = this.nextId();
    const event: LiveEvent = { id: formatEventId(id), ...input };
    organization.ring.push({ id, event });
    this.trim(organization, id.ms);
    if (id.ms - this.lastSweepMs >= SWEEP_INTERVAL_MS) this.sweep(id.ms);
    if (organization.cursors.size === 0) return;
    this.pending.push({ organization, event });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  subscribe(
    organizationId: string,
    options: { after?: string | undefined },
    listener: LiveEventListener,
  ): Promise<LiveEventSubscription> {
    if (this.closed) return Promise.reject(new Error('the live event log is closed'));
    const organization = this.organizationOf(organizationId);
    this.trim(organization, this.nowMs());
    const cursor = new LiveEventCursor(listener, this.options.logger);
    organization.cursors.add(cursor);
    const after = options.after === undefined ? null : parseEventId(options.after);
    if (!after || this.misses(organization, after)) {
      // From now on: events appended but not fanned out yet are older than the listener.
      cursor.start(this.last, [], options.after !== undefined);
    } else {
      cursor.start(after, this.kept(organization, after), false);
    }
    return Promise.resolve({
      close: () => {
        cursor.close();
        organization.cursors.delete(cursor);
      },
    });
  }

  forgetCall(organizationId: string, callId: string): Promise<void> {
    const organization = this.organizations.get(organizationId);
    if (organization) {
      organization.ring = organization.ring
        .slice(organization.head)
        .filter((entry) => entry.event.callId !== callId);
      organization.head = 0;
    }
    this.pending = this.pending.filter(({ event }) => event.callId !== callId);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    for (const organization of this.organizations.values()) {
      for (const cursor of organization.cursors) cursor.close();
      organization.cursors.clear();
    }
    this.organizations.clear();
    this.pending = [];
    return Promise.resolve();
  }

  private flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = [];
    for (const { organization, event } of pending) {
      for (const cursor of [...organization.cursors]) cursor.push(event);
    }
  }

  /**
   * Whether events after `after` may be gone: it is from before the organization's record began (this
   * process started, or the record was swept), before an event dropped since, or newer than any id
   * this log gave (another log's).
   */
  private misses(organization: OrganizationLog, after: ParsedEventId): boolean {
    if (compareEventIds(after, organization.since) < 0 || compareEventIds(after, this.last) > 0) return true;
    return organization.lastDropped !== null && compareEventIds(after, organization.lastDropped) < 0;
  }

  /** Drops what has aged out everywhere, and forgets organizations with nothing kept and no listener. */
  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [organizationId, organization] of this.organizations) {
      this.trim(organization, nowMs);
      if (organization.ring.length === organization.head && organization.cursors.size === 0) {
        this.organizations.delete(organizationId);
      }
    }
  }

  private kept(organization: OrganizationLog, after: ParsedEventId): LiveEvent[] {
    const events: LiveEvent[] = [];
    for (let i = organization.ring.length - 1; i >= organization.head; i -= 1) {
      const entry = organization.ring[i]!;
      if (compareEventIds(entry.id, after) <= 0) break;
      events.push(entry.event);
    }
    return events.reverse();
  }

  private organizationOf(organizationId: string): OrganizationLog {
    let organization = this.organizations.get(organizationId);
    if (!organization) {
      organization = { ring: [], head: 0, lastDropped: null, since: this.last, cursors: new Set() };
      this.organizations.set(organizationId, organization);
    }
    return organization;
  }

  /** Drops events beyond the count or the age kept; compacts the ring once half of it is dropped. */
  private trim(organization: OrganizationLog, nowMs: number): void {
    const oldestKeptMs = nowMs - this.retention.maxAgeMs;
    while (organization.head < organization.ring.length) {
      const oldest = organization.ring[organization.head]!;
      const kept = organization.ring.length - organization.head;
      if (kept <= this.retention.maxEvents && oldest.id.ms >= oldestKeptMs) break;
      organization.lastDropped = oldest.id;
      organization.head += 1;
    }
    if (organization.head > 0 && organization.head * 2 >= organization.ring.length) {
      organization.ring = organization.ring.slice(organization.head);
      organization.head = 0;
    }
  }

  /** Milliseconds of the clock, never going back; a sequence within the same millisecond. */
  private nextId(): ParsedEventId {
    const ms = this.nowMs();
    this.last = ms > this.last.ms ? { ms, seq: 0 } : { ms: this.last.ms, seq: this.last.seq + 1 };
    return this.last;
  }
}
