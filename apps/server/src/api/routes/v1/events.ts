// /api/v1/events: the organization's live events as Server-Sent Events, and the same over a WebSocket
// at /api/v1/events/ws (docs/api.md, "Live events"). Both take the same filters and resume after the
// last event id a client saw; the checks (calls:read, a filter call or agent of this organization) run
// before the stream opens, so a refusal is a plain HTTP error.
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import {
  LIVE_RESET_EVENT,
  LiveEventId,
  LiveEventsQuery,
  type LiveEvent,
  type LiveEventsQuery as LiveEventsQueryType,
} from '@parley/contracts';
import { openLiveEvents, ServiceError } from '@parley/services';
import type { LiveEventLog, LiveEventSubscription } from '../../../live/live-event-log.js';
import { assertCookieUpgradeFromThisInstance, organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

/** A comment line this often keeps proxies from closing an idle stream (and carries the position). */
const KEEP_ALIVE_MS = 15_000;
/** A client this far behind (bytes not yet taken by its socket) is cut off; it resumes from its id. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long an SSE client waits before reconnecting after the stream ends. */
const RETRY_MS = 2_000;

interface OpenedStream {
  organizationId: string;
  after: string | undefined;
  accepts: (event: LiveEvent) => boolean;
}

/** What a stream sends: an event, a reset, or the id it has read up to (events filtered out included). */
interface StreamSink {
  event(event: LiveEvent, json: string): void;
  reset(newestId: string | null): void;
  position(id: string): void;
}

export const eventRoutes: RouteModule = (app, { deps, liveEvents }) => {
  const tags = ['events'];
  const opened = new WeakMap<FastifyRequest, OpenedStream>();
  /** Streams open now, ended when the server closes (they would otherwise hold it open). */
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  // After authentication: a refusal is an ordinary error response, before any stream or upgrade.
  const open = async (request: FastifyRequest) => {
    const query = request.query as LiveEventsQueryType;
    const ctx = await organizationContext(deps, request);
    if (request.ws) assertCookieUpgradeFromThisInstance(deps, request);
    const { organizationId } = await openLiveEvents(ctx, query);
    opened.set(request, { organizationId, after: lastEventIdOf(request, query), accepts: matcher(query) });
  };

  app.get(
    '/events',
    {
      schema: {
        tags,
        summary: 'The organization’s live call events as Server-Sent Events, resumable with Last-Event-ID',
        querystring: LiveEventsQuery,
      },
      preHandler: open,
    },
    async (request, reply) => {
      const stream = opened.get(request)!;
      const raw = reply.hijack().raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // nginx and similar proxies would otherwise hold events back to fill their buffers.
        'x-accel-buffering': 'no',
        'x-request-id': String(request.id),
      });
      raw.write(`retry: ${RETRY_MS}\n\n`);
      let subscription: LiveEventSubscription | null = null;
      let ended = false;
      let sentId: string | null = null;
      let readId: string | null = null;
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(keepAlive);
        streams.delete(end);
        subscription?.close();
        raw.end();
      };
      const write = (text: string) => {
        if (ended) return;
        raw.write(text);
        if (raw.writableLength > MAX_BUFFERED_BYTES) {
          // Not end(): that would wait to flush a megabyte to a client that is not reading.
          end();
          raw.destroy();
        }
      };
      const keepAlive = setInterval(() => {
        // An id alone moves the client's Last-Event-ID past events it filtered out, without an event.
        if (readId !== null && readId !== sentId) {
          sentId = readId;
          write(`id: ${readId}\n\n`);
        } else {
          write(': keep-alive\n\n');
        }
      }, KEEP_ALIVE_MS);
      streams.add(end);
      raw.on('close', end);
      subscription = await subscribeStream(liveEvents, stream, {
        event: (event, json) => {
          sentId = readId = event.id;
          write(`id: ${event.id}\nevent: ${event.type}\ndata: ${json}\n\n`);
        },
        reset: (newestId) => {
          if (newestId) sentId = readId = newestId;
          const id = newestId ? `id: ${newestId}\n` : '';
          write(`${id}event: ${LIVE_RESET_EVENT}\ndata: ${JSON.stringify(resetData())}\n\n`);
        },
        position: (id) => {
          readId = id;
        },
      }).catch((error: unknown) => {
        request.log.warn({ err: error }, 'live events could not be opened');
        end();
        return null;
      });
      if (ended) subscription?.close();
    },
  );

  app.get(
    '/events/ws',
    {
      websocket: true,
      schema: {
        tags,
        summary: 'The organization’s live call events over a WebSocket, one JSON message per event',
        querystring: LiveEventsQuery,
      },
      preHandler: open,
    },
    (socket: WebSocket, request: FastifyRequest) => {
      const stream = opened.get(request)!;
      let subscription: LiveEventSubscription | null = null;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        streams.delete(end);
        subscription?.close();
        if (socket.readyState === socket.OPEN) socket.close(1001, 'server closing');
      };
      const send = (text: string) => {
        if (ended || socket.readyState !== socket.OPEN) return;
        socket.send(text);
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          ended = true;
          subscription?.close();
          socket.close(1013, 'too far behind: resume from the last event id');
        }
      };
      streams.add(end);
      socket.on('close', end);
      // Clients do not speak on this socket; a ping from them is answered by ws itself.
      void subscribeStream(liveEvents, stream, {
        event: (_event, json) => send(json),
        reset: (newestId) =>
          send(JSON.stringify({ type: LIVE_RESET_EVENT, id: newestId, data: resetData() })),
        position: () => {},
      })
        .then((opened) => {
          subscription = opened;
          if (ended) opened.close();
        })
        .catch((error: unknown) => {
          request.log.warn({ err: error }, 'live events could not be opened');
          if (socket.readyState === socket.OPEN) socket.close(1011, 'live events unavailable');
        });
    },
  );
};

function subscribeStream(
  log: LiveEventLog,
  stream: OpenedStream,
  sink: StreamSink,
): Promise<LiveEventSubscription> {
  return log.subscribe(
    stream.organizationId,
    { after: stream.after },
    {
      event: (event) => {
        if (stream.accepts(event)) sink.event(event, jsonOf(event));
        else sink.position(event.id);
      },
      reset: (newestId) => sink.reset(newestId),
    },
  );
}

/**
 * An event's JSON, written once however many clients receive it: the log hands every subscriber of
 * this process the same object.
 */
const serialized = new WeakMap<LiveEvent, string>();
function jsonOf(event: LiveEvent): string {
  let json = serialized.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    serialized.set(event, json);
  }
  return json;
}

const resetData = () => ({
  reason: 'events_missed',
  message: 'Events after the given id are no longer kept: reload from the REST API, then follow on.',
});

/** The `Last-Event-ID` header (what EventSource sends when it reconnects) wins over the query. */
function lastEventIdOf(request: FastifyRequest, query: LiveEventsQueryType): string | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header.length > 0) {
    if (!LiveEventId.safeParse(header).success) {
      throw new ServiceError('invalid_request', 'Last-Event-ID must be the id of a live event', [
        { path: 'headers.last-event-id', message: 'must be the id of a live event' },
      ]);
    }
    return header;
  }
  return query.lastEventId;
}

function matcher(query: LiveEventsQueryType): (event: LiveEvent) => boolean {
  const types = query.types ? new Set<string>(query.types) : null;
  return (event) =>
    (!query.callId || event.callId === query.callId) &&
    (!query.agentId || event.agentId === query.agentId) &&
    (!types || types.has(event.type));
}
