// The live event log across processes (REDIS_URL set): a Redis stream per organization,
// `parley:org:<organizationId>:events`, whose entry ids are the events' ids. Appends are gathered for a
// few milliseconds and sent in one pipeline (XADD with an approximate MAXLEN, and an expiry so an idle
// organization's stream goes away). Reading takes ONE connection per process: a loop blocks on XREAD
// over the streams of the organizations that have listeners here and fans each entry out to them, so a
// thousand dashboards cost one connection, not a thousand.
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { LiveEventType, type LiveEvent, type LiveEventInput } from '@parley/contracts';
import { describeError } from '../logger.js';
import {
  compareEventIds,
  DEFAULT_LIVE_EVENT_RETENTION,
  LiveEventCursor,
  parseEventId,
  type LiveEventListener,
  type LiveEventLog,
  type LiveEventRetention,
  type LiveEventSubscription,
  type ParsedEventId,
} from './live-event-log.js';

export interface RedisLiveEventLogOptions {
  /** The process's Redis client: appends and replays go through it; the reader is its duplicate. */
  redis: Redis;
  logger: FastifyBaseLogger;
  retention?: Partial<LiveEventRetention>;
  /** The first part of every key (default `parley`); tests use their own to stay apart. */
  keyPrefix?: string;
  /** How long appends are gathered before one pipeline sends them (default 5 ms). */
  flushIntervalMs?: number;
  /** How long one XREAD blocks before the loop looks at its streams again (default 5 s). */
  blockMs?: number;
}

/** Appends held while Redis is slow or away; beyond this the oldest are dropped (and counted). */
const MAX_PENDING_APPENDS = 10_000;
/** Entries one XREAD or replay returns at most; a longer replay reads on. */
const READ_COUNT = 1_000;

interface Pending {
  key: string;
  fields: string;
}

interface Organization {
  key: string;
  cursors: Set<LiveEventCursor>;
  /** The last entry id the reader has fanned out (or started after). */
  readFrom: string;
  /** The reader reads the stream (once it knows where to start). */
  reading: boolean;
  joined: Promise<void>;
}

export class RedisLiveEventLog implements LiveEventLog {
  private readonly retention: LiveEventRetention;
  private readonly prefix: string;
  /** The organizations with listeners in this process, by stream key. */
  private readonly organizations = new Map<string, Organization>();
  private pending: Pending[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private droppedAppends = 0;
  private closed = false;
  private readerId: number | null = null;
  private wake: (() => void) | null = null;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly options: RedisLiveEventLogOptions,
    private readonly reader: Redis,
  ) {
    this.retention = { ...DEFAULT_LIVE_EVENT_RETENTION, ...options.retention };
    this.prefix = options.keyPrefix ?? 'parley';
    reader.on('error', (error: unknown) => {
      options.logger.warn({ error: describeError(error) }, 'live event reader: Redis error');
    });
    // A reconnected reader is a new client: CLIENT UNBLOCK needs its new id.
    reader.on('ready', () => void this.learnReaderId());
    this.loop = this.readLoop();
  }

  /** Opens the reading connection; rejects when Redis cannot be reached. */
  static async connect(options: RedisLiveEventLogOptions): Promise<RedisLiveEventLog> {
    const reader = options.redis.duplicate({ lazyConnect: true });
    await reader.connect();
    const log = new RedisLiveEventLog(options, reader);
    await log.learnReaderId();
    return log;
  }

  /** Appends lost because Redis could not take them. */
  get dropped(): number {
    return this.droppedAppends;
  }

  append(organizationId: string, event: LiveEventInput): void {
    if (this.closed) return;
    const { type, callId, agentId, occurredAt, data } = event;
    this.pending.push({
      key: this.keyOf(organizationId),
      fields: JSON.stringify({ type, callId, agentId, occurredAt, data }),
    });
    if (this.pending.length > MAX_PENDING_APPENDS) {
      this.pending.shift();
      this.droppedAppends += 1;
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, this.options.flushIntervalMs ?? 5);
  }

  /** Sends what is gathered (after any send under way). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.send());
    return this.flushing;
  }

  async subscribe(
    organizationId: string,
    options: { after?: string | undefined },
    listener: LiveEventListener,
  ): Promise<LiveEventSubscription> {
    if (this.closed) throw new Error('the live event log is closed');
    const cursor = new LiveEventCursor(listener, this.options.logger);
    // The reader takes the organization on before the replay is read: whatever is appended meanwhile
    // is in one or the other (or both, and the cursor drops the second copy).
    const organization = await this.join(organizationId, cursor);
    const close = () => {
      cursor.close();
      organization.cursors.delete(cursor);
      if (organization.cursors.size === 0 && this.organizations.get(organization.key) === organization) {
        this.organizations.delete(organization.key);
      }
    };
    try {
      const after = options.after === undefined ? null : parseEventId(options.after);
      const replay = after ? await this.replayAfter(organization.key, after) : null;
      if (!after || !replay) {
        cursor.start(await this.newestId(organization.key), [], options.after !== undefined);
      } else {
        cursor.start(after, replay, false);
      }
    } catch (error) {
      close();
      throw error;
    }
    return { close };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.flush().catch(() => {});
    this.closed = true;
    for (const organization of this.organizations.values()) {
      for (const cursor of organization.cursors) cursor.close();
    }
    this.organizations.clear();
    this.wake?.();
    this.reader.disconnect();
    await this.loop;
  }

  async forgetCall(organizationId: string, callId: string): Promise<void> {
    // Appends still gathered here go first, so none of the call's lands after the scan.
    await this.flush();
    const key = this.keyOf(organizationId);
    const ids: string[] = [];
    let from = '-';
    for (;;) {
      const entries = await this.options.redis.xrange(key, from, '+', 'COUNT', READ_COUNT);
      for (const [id, fields] of entries) {
        if (eventOf(id, fields)?.callId === callId) ids.push(id);
      }
      if (entries.length < READ_COUNT) break;
      from = `(${entries[entries.length - 1]![0]}`;
    }
    if (ids.length === 0) return;
    // Counted, so that streamInfo tells the entries erased here from entries trimmed away.
    await this.options.redis
      .multi()
      .incrby(erasedKeyOf(key), ids.length)
      .pexpire(erasedKeyOf(key), this.retention.maxAgeMs)
      .exec();
    for (let i = 0; i < ids.length; i += READ_COUNT) {
      await this.options.redis.xdel(key, ...ids.slice(i, i + READ_COUNT));
    }
  }

  private keyOf(organizationId: string): string {
    return `${this.prefix}:org:${organizationId}:events`;
  }

  private async send(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const pipeline = this.options.redis.pipeline();
    const keys = new Set<string>();
    for (const { key, fields } of batch) {
      pipeline.xadd(key, 'MAXLEN', '~', this.retention.maxEvents, '*', 'e', fields);
      keys.add(key);
    }
    // An organization without events for the whole retention leaves no stream behind.
    for (const key of keys) pipeline.pexpire(key, this.retention.maxAgeMs);
    try {
      const results = (await pipeline.exec()) ?? [];
      const failed = results.filter(([error]) => error !== null).length;
      if (failed > 0) this.lost(failed, results.find(([error]) => error)?.[0]);
    } catch (error) {
      // Live events are for watching now: a batch Redis did not take is not retried behind newer ones.
      this.lost(batch.length, error);
    }
  }

  private lost(count: number, error: unknown): void {
    this.droppedAppends += count;
    this.options.logger.warn(
      { error: describeError(error), lost: count, dropped: this.droppedAppends },
      'live events not written to Redis',
    );
  }

  private async join(organizationId: string, cursor: LiveEventCursor): Promise<Organization> {
    const key = this.keyOf(organizationId);
    const existing = this.organizations.get(key);
    if (existing) {
      existing.cursors.add(cursor);
      await existing.joined;
      return existing;
    }
    const organization: Organization = {
      key,
      cursors: new Set([cursor]),
      readFrom: '0-0',
      reading: false,
      joined: Promise.resolve(),
    };
    organization.joined = this.newestId(key).then((newest) => {
      // The reader starts after the newest entry: what is older, a listener gets from its replay.
      organization.readFrom = newest ? `${newest.ms}-${newest.seq}` : '0-0';
      organization.reading = true;
      this.interruptRead();
    });
    this.organizations.set(key, organization);
    try {
      await organization.joined;
    } catch (error) {
      if (this.organizations.get(key) === organization) this.organizations.delete(key);
      throw error;
    }
    return organization;
  }

  /** The newest entry of the stream, or null when it has none. */
  private async newestId(key: string): Promise<ParsedEventId | null> {
    const [newest] = await this.options.redis.xrevrange(key, '+', '-', 'COUNT', 1);
    return newest ? parseEventId(newest[0]) : null;
  }

  /**
   * The entries after `after`, or null when some of them are gone: the stream was trimmed past it, or
   * it is older than the retention and the stream does not reach back to it (it expired meanwhile).
   */
  private async replayAfter(key: string, after: ParsedEventId): Promise<LiveEvent[] | null> {
    const info = await this.streamInfo(key);
    const before = (id: ParsedEventId | null) => id !== null && compareEventIds(after, id) < 0;
    if (info.trimmed && before(info.first)) return null;
    // Newer than any id the stream gave: not one of its ids (a flushed Redis, another log's).
    if (info.last && compareEventIds(after, info.last) > 0) return null;
    const tooOld = after.ms < Date.now() - this.retention.maxAgeMs;
    if (tooOld && (info.first === null || before(info.first))) return null;
    const events: LiveEvent[] = [];
    let from = `(${after.ms}-${after.seq}`;
    for (;;) {
      const entries = await this.options.redis.xrange(key, from, '+', 'COUNT', READ_COUNT);
      for (const [id, fields] of entries) {
        const event = eventOf(id, fields);
        if (event) events.push(event);
      }
      if (entries.length < READ_COUNT) return events;
      from = `(${entries[entries.length - 1]![0]}`;
    }
  }

  private async streamInfo(
    key: string,
  ): Promise<{ first: ParsedEventId | null; last: ParsedEventId | null; trimmed: boolean }> {
    let reply: unknown[];
    try {
      reply = (await this.options.redis.call('XINFO', 'STREAM', key)) as unknown[];
    } catch {
      // No such key: the organization has had no event for the whole retention.
      return { first: null, last: null, trimmed: false };
    }
    const field = (name: string) => (reply.includes(name) ? reply[reply.indexOf(name) + 1] : undefined);
    const firstEntry = field('first-entry') as [string, string[]] | null;
    const length = Number(field('length'));
    const added = Number(field('entries-added'));
    const erased = Number((await this.options.redis.get(erasedKeyOf(key))) ?? 0);
    return {
      first: firstEntry ? parseEventId(firstEntry[0]) : null,
      last: parseEventId(String(field('last-generated-id'))),
      // Redis before 7.0 does not count what was added: then anything before the first entry may have
      // been trimmed (a resume from there gets a reset rather than a silent gap).
      trimmed: Number.isFinite(added) ? added - erased > length : true,
    };
  }

  private async learnReaderId(): Promise<void> {
    try {
      this.readerId = Number(await this.reader.client('ID'));
    } catch {
      this.readerId = null;
    }
  }

  /** Ends the reader's current XREAD at once so that it reads the streams it has just taken on. */
  private interruptRead(): void {
    this.wake?.();
    if (this.readerId === null) return;
    void this.options.redis.client('UNBLOCK', this.readerId).catch(() => {
      // The read ends by itself within blockMs.
    });
  }

  private async readLoop(): Promise<void> {
    while (!this.closed) {
      const organizations = [...this.organizations.values()].filter((o) => o.reading);
      if (organizations.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        const reply = (await this.reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          this.options.blockMs ?? 5_000,
          'STREAMS',
          ...organizations.map((o) => o.key),
          ...organizations.map((o) => o.readFrom),
        )) as [string, [string, string[]][]][] | null;
        for (const [key, entries] of reply ?? []) this.fanOut(key, entries);
      } catch (error) {
        if (this.closed) return;
        this.options.logger.warn({ error: describeError(error) }, 'live event reader failed; reading again');
        // Not a busy loop while Redis is away: ioredis reconnects meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private fanOut(key: string, entries: [string, string[]][]): void {
    const organization = this.organizations.get(key);
    if (!organization?.reading || entries.length === 0) return;
    organization.readFrom = entries[entries.length - 1]![0];
    for (const [id, fields] of entries) {
      const event = eventOf(id, fields);
      if (!event) continue;
      for (const cursor of [...organization.cursors]) cursor.push(event);
    }
  }
}

/** A stream entry as an event; null for anything that is not one (the rest of the stream goes on). */
/** How many entries of the stream `key` were erased (forgetCall), as opposed to trimmed. */
const erasedKeyOf = (key: string) => `${key}:erased`;

function eventOf(id: string, fields: string[]): LiveEvent | null {
  const index = fields.indexOf('e');
  if (index < 0 || index % 2 !== 0) return null;
  try {
    const value = JSON.parse(fields[index + 1] ?? '') as Omit<LiveEvent, 'id'>;
    if (!LiveEventType.safeParse(value.type).success || typeof value.callId !== 'string') return null;
    return {
      id,
      type: value.type,
      callId: value.callId,
      agentId: value.agentId ?? null,
      occurredAt: value.occurredAt,
      data: value.data ?? {},
    };
  } catch {
    return null;
  }
}
