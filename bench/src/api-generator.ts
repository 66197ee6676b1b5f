// Row (e)'s load generator, in its own process so its CPU is not the server's and its timers are not
// delayed by the harness: keep-alive HTTP/1.1 connections sending the request mix to the server
// under test, either closed loop (N connections, each sending its next request when the last one
// answered) or open loop (a fixed rate, latency counted from when each request was due). Every request
// is timed at this client, from the first byte sent (or due) to the last byte of the answer.
import http from 'node:http';
import { seededRandom } from '@parley/testkit';
import { API_REQUEST_KINDS, mixChooser, openLoopDueMs, type ApiRequestKind } from './api-mix.js';
import { distribution, type Distribution } from './stats.js';

export interface ApiGeneratorConfig {
  baseUrl: string;
  apiKey: string;
  /** Agents seeded before the run: gets and updates pick among them. */
  agentIds: string[];
  seed: number;
  /** Sent but not counted (the server's JIT and pools warming up); errors count all the same. */
  warmupMs: number;
  durationMs: number;
  load:
    { kind: 'closed'; connections: number } | { kind: 'open'; ratePerSecond: number; connections: number };
}

export interface ApiGeneratorResult {
  /** Length of the counted window. */
  durationMs: number;
  /** Answered requests started (or due) in the counted window. */
  requests: number;
  requestsPerSecond: number;
  latencyMs: Distribution;
  latencyByKindMs: Record<ApiRequestKind, Distribution>;
  /** Every answer that was not 2xx, and every failed connection, warm-up included. */
  errors: number;
  errorsByStatus: Record<string, number>;
  /** The first few error answers (status and body start), to say what went wrong. */
  errorSamples: string[];
  /** 2xx answers by kind over the whole run, warm-up included (to check the audit rows against). */
  answeredByKind: Record<ApiRequestKind, number>;
  /** CPU of this generator over the counted window, in cores. */
  generatorCoreShare: number;
  /** Open loop: how late the generator sent requests after they were due (its own saturation). */
  sendLagMs: Distribution | null;
}

const MAX_ERROR_SAMPLES = 5;

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ApiGeneratorConfig;
  const base = new URL(config.baseUrl);
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: config.load.connections,
    maxFreeSockets: config.load.connections,
  });
  const random = seededRandom(config.seed);
  const choose = mixChooser(random);
  const pick = () => config.agentIds[Math.floor(random() * config.agentIds.length)]!;
  let writes = 0;

  const latencies = Object.fromEntries(API_REQUEST_KINDS.map((kind) => [kind, [] as number[]])) as Record<
    ApiRequestKind,
    number[]
  >;
  const sendLag: number[] = [];
  const answeredByKind = Object.fromEntries(API_REQUEST_KINDS.map((kind) => [kind, 0])) as Record<
    ApiRequestKind,
    number
  >;
  let errors = 0;
  const errorsByStatus: Record<string, number> = {};
  const errorSamples: string[] = [];

  function requestOf(kind: ApiRequestKind): { method: string; path: string; body?: string } {
    switch (kind) {
      case 'get':
        return { method: 'GET', path: `/api/v1/agents/${pick()}` };
      case 'list':
        return { method: 'GET', path: '/api/v1/agents?limit=20' };
      case 'create':
        return {
          method: 'POST',
          path: '/api/v1/agents',
          body: JSON.stringify({ name: `Bench ${++writes}` }),
        };
      case 'update':
        // A new name every time: an edit that changes nothing writes no revision and no audit row.
        return {
          method: 'PATCH',
          path: `/api/v1/agents/${pick()}`,
          body: JSON.stringify({ name: `Bench edit ${++writes}` }),
        };
    }
  }

  /** Sends one request; resolves with its HTTP status (0 when the connection failed). */
  function send(kind: ApiRequestKind): Promise<number> {
    const { method, path, body } = requestOf(kind);
    return new Promise((resolve) => {
      const request = http.request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${config.apiKey}`,
            accept: 'application/json',
            ...(body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          let text = '';
          response.on('data', (chunk: Buffer) => {
            if (!ok && text.length < 300) text += chunk.toString('utf8');
          });
          response.on('end', () => {
            if (!ok)
              noteError(String(status), `${method} ${path.split('?')[0]} → ${status} ${text.slice(0, 200)}`);
            resolve(status);
          });
          response.on('error', (error) => {
            noteError('response error', `${method} → ${String(error)}`);
            resolve(0);
          });
        },
      );
      request.on('error', (error) => {
        noteError('connection error', `${method} → ${String(error)}`);
        resolve(0);
      });
      request.end(body);
    });
  }

  function noteError(key: string, sample: string): void {
    errors++;
    errorsByStatus[key] = (errorsByStatus[key] ?? 0) + 1;
    if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(sample);
  }

  const startedAt = performance.now();
  const countFrom = startedAt + config.warmupMs;
  const endAt = countFrom + config.durationMs;
  let cpuAtCount: NodeJS.CpuUsage | null = null;
  const cpuClock = setTimeout(() => (cpuAtCount = process.cpuUsage()), config.warmupMs);

  const record = (kind: ApiRequestKind, fromMs: number, status: number) => {
    // Failed requests are errors, not latency samples; the row fails on any of them.
    if (status < 200 || status >= 300) return;
    answeredByKind[kind]++;
    if (fromMs >= countFrom) latencies[kind].push(performance.now() - fromMs);
  };

  if (config.load.kind === 'closed') {
    await Promise.all(
      Array.from({ length: config.load.connections }, async () => {
        while (performance.now() < endAt) {
          const kind = choose();
          const sentAt = performance.now();
          record(kind, sentAt, await send(kind));
        }
      }),
    );
  } else {
    const { ratePerSecond } = config.load;
    const inFlight = new Set<Promise<void>>();
    for (let index = 0; ; index++) {
      // Absolute deadlines from the start: a late wake-up sends what is due at once, never drifts.
      const dueAt = startedAt + openLoopDueMs(index, ratePerSecond);
      if (dueAt >= endAt) break;
      const wait = dueAt - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (dueAt >= countFrom) sendLag.push(performance.now() - dueAt);
      const kind = choose();
      const pending = send(kind).then((status) => {
        record(kind, dueAt, status);
        inFlight.delete(pending);
      });
      inFlight.add(pending);
    }
    await Promise.all(inFlight);
  }
  clearTimeout(cpuClock);
  const cpu = process.cpuUsage(cpuAtCount ?? undefined);
  agent.destroy();

  const all = API_REQUEST_KINDS.flatMap((kind) => latencies[kind]);
  const durationMs = config.durationMs;
  const result: ApiGeneratorResult = {
    durationMs,
    requests: all.length,
    requestsPerSecond: Math.round((all.length / durationMs) * 1000 * 10) / 10,
    latencyMs: distribution(all),
    latencyByKindMs: Object.fromEntries(
      API_REQUEST_KINDS.map((kind) => [kind, distribution(latencies[kind])]),
    ) as Record<ApiRequestKind, Distribution>,
    errors,
    errorsByStatus,
    errorSamples,
    answeredByKind,
    generatorCoreShare: (cpu.user + cpu.system) / 1000 / Math.max(1, performance.now() - countFrom),
    sendLagMs: config.load.kind === 'open' ? distribution(sendLag) : null,
  };
  process.send?.({ type: 'result', result }, () => process.exit(0));
}

void main().catch((error: unknown) => {
  process.send?.({ type: 'failed', error: String(error) }, () => process.exit(1));
});
