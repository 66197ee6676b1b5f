// Rows (e) and (e2): the control-plane API. (e) drives `parley serve` on PostgreSQL closed loop with
// 50 connections and the 70/20/10 mix; (e2) sends a fixed 200 req/s to it while the rated voice load
// of row b runs on the same machine, and compares the voice runtime's deadline misses with row b's.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ApiGeneratorConfig, ApiGeneratorResult } from './api-generator.js';
import { API_MIX } from './api-mix.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from './api-server.js';
import { loadScenario, type LoadResult } from './load.js';
import { deadlineMisses, type DeadlineMisses } from './misses.js';
import type { RuntimeProcess } from './runtime-process.js';
import type { Simulators } from './sims.js';
import type { Distribution } from './stats.js';

/** The same shape as run.ts's table rows. */
export interface BenchRow {
  id: string;
  what: string;
  figure: string;
  bar: string;
  pass: boolean | null;
  data: unknown;
}

export interface ApiRowOptions extends ApiServerOptions {
  connections: number;
  durationMs: number;
  warmupMs: number;
  seed: number;
}

/** Runs the generator in its own process and returns what it measured. */
export function runApiGenerator(config: ApiGeneratorConfig): Promise<ApiGeneratorResult> {
  const child = fork(
    fileURLToPath(new URL('./api-generator.js', import.meta.url)),
    [JSON.stringify(config)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on('message', (message: { type: string; result?: ApiGeneratorResult; error?: string }) => {
      settled = true;
      if (message.type === 'result') resolve(message.result!);
      else reject(new Error(`API load generator failed: ${message.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`API load generator exited with ${code}`));
    });
  });
}

const ms = (d: Distribution) =>
  d.count === 0 ? 'no samples' : `p50 ${d.p50} / p95 ${d.p95} / p99 ${d.p99} ms (n=${d.count})`;

const mixText = `${API_MIX.get * 100}% get by id, ${API_MIX.list * 100}% list of 20, ${(API_MIX.create + API_MIX.update) * 100}% create/update`;

function errorText(result: ApiGeneratorResult): string {
  if (result.errors === 0) return 'errors 0';
  return `errors ${result.errors} ${JSON.stringify(result.errorsByStatus)} e.g. ${result.errorSamples[0] ?? ''}`;
}

function serverNote(server: ApiServer, options: ApiServerOptions): string {
  return (
    `parley serve --role api on PostgreSQL (fresh database ${server.databaseName}, ${server.agentIds.length} seeded agents), ` +
    `LOG_LEVEL ${options.logLevel}, per-key rate limit raised to ${options.rateLimitPerMinute.toLocaleString('en')}/min for the run`
  );
}

/**
 * A row that could not be measured (no PostgreSQL, no psql, the server would not start): a failed row
 * in the table rather than a crash that would lose the other rows' figures.
 */
async function orNotMeasured(id: string, bar: string, measure: () => Promise<BenchRow>): Promise<BenchRow> {
  try {
    return await measure();
  } catch (error) {
    const message = String(error);
    return {
      id,
      what: 'control-plane API: not measured',
      figure: `could not run: ${message.split('\n')[0]}`,
      bar,
      pass: false,
      data: { error: message },
    };
  }
}

const E_BAR = '≥ 3,000 req/s at p99 ≤ 25 ms, no errors (ambition ≥ 4,500 req/s)';

/** Row (e): the API alone, closed loop. */
export function apiThroughputRow(options: ApiRowOptions): Promise<BenchRow> {
  return orNotMeasured('e', E_BAR, () => measureApiThroughput(options));
}

async function measureApiThroughput(options: ApiRowOptions): Promise<BenchRow> {
  const server = await startApiServer(options);
  let result: ApiGeneratorResult;
  let serverCores: number | null;
  let audit: Record<string, number>;
  try {
    const cpuBefore = server.cpuMs();
    const wallBefore = performance.now();
    result = await runApiGenerator({
      baseUrl: server.baseUrl,
      apiKey: server.apiKey,
      agentIds: server.agentIds,
      seed: options.seed,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      load: { kind: 'closed', connections: options.connections },
    });
    const cpuAfter = server.cpuMs();
    serverCores =
      cpuBefore === null || cpuAfter === null
        ? null
        : (cpuAfter - cpuBefore) / Math.max(1, performance.now() - wallBefore);
    audit = await server.auditCounts();
  } finally {
    await server.stop();
  }
  const p99 = result.latencyMs.p99;
  // Every answered create and update wrote its audit row (the seeded agents' creations included).
  const auditCreates = (audit['agent.create'] ?? 0) - server.agentIds.length;
  const auditUpdates = audit['agent.update'] ?? 0;
  const auditOk =
    auditCreates === result.answeredByKind.create && auditUpdates === result.answeredByKind.update;
  return {
    id: 'e',
    what: `control-plane API: ${mixText}; ${options.connections} connections closed loop, ${Math.round(options.durationMs / 1000)} s (+${Math.round(options.warmupMs / 1000)} s warm-up)`,
    figure:
      `${result.requestsPerSecond.toLocaleString('en')} req/s; ${ms(result.latencyMs)}; ${errorText(result)}; ` +
      `get ${ms(result.latencyByKindMs.get)}, list ${ms(result.latencyByKindMs.list)}, ` +
      `create ${ms(result.latencyByKindMs.create)}, update ${ms(result.latencyByKindMs.update)}; ` +
      `audit rows ${auditCreates} agent.create + ${auditUpdates} agent.update for ${result.answeredByKind.create} + ${result.answeredByKind.update} answered writes (${auditOk ? 'all written' : 'MISMATCH'}); ` +
      `CPU server ${serverCores?.toFixed(2) ?? '?'} cores, generator ${result.generatorCoreShare.toFixed(2)} cores; ` +
      serverNote(server, options),
    bar: E_BAR,
    pass:
      auditOk &&
      result.errors === 0 &&
      result.requests > 0 &&
      result.requestsPerSecond >= 3000 &&
      p99 !== null &&
      p99 <= 25,
    data: {
      ...result,
      auditRows: audit,
      serverCoreShare: serverCores,
      role: server.role,
      rateLimitPerMinute: options.rateLimitPerMinute,
    },
  };
}

export interface ApiUnderVoiceOptions extends ApiRowOptions {
  ratePerSecond: number;
  calls: number;
  loadMs: number;
  rampMs: number;
  /** Row b's misses in this invocation, when it ran: the baseline "no added misses" compares with. */
  voiceAlone: DeadlineMisses | null;
}

/**
 * The share of frames by which e2 may exceed row b alone and still count as "no added misses": room
 * for run-to-run noise, a first guess until repeated row b runs on the reference machine show the spread.
 */
export const ADDED_MISS_TOLERANCE = 0.0001;

const e2Bar = (ratePerSecond: number) =>
  `p99 ≤ 50 ms at ${ratePerSecond} req/s, no errors; voice at rated load (≥ 200 calls) with no added misses (≤ +${(ADDED_MISS_TOLERANCE * 100).toFixed(3)}% over row b)`;

/** Row (e2): a fixed API rate (open loop) while the voice load of row b runs. */
export function apiUnderVoiceRow(
  runtime: RuntimeProcess,
  sims: Simulators,
  options: ApiUnderVoiceOptions,
): Promise<BenchRow> {
  return orNotMeasured('e2', e2Bar(options.ratePerSecond), () =>
    measureApiUnderVoice(runtime, sims, options),
  );
}

async function measureApiUnderVoice(
  runtime: RuntimeProcess,
  sims: Simulators,
  options: ApiUnderVoiceOptions,
): Promise<BenchRow> {
  const server = await startApiServer(options);
  let api: ApiGeneratorResult;
  let load: LoadResult;
  try {
    // The API starts with the ramp (its warm-up) and is counted over the held load, the window whose
    // voice counters row b reads (from ramp + 1 s to the end).
    const steadyAfterMs = options.rampMs + 1000;
    [api, load] = await Promise.all([
      runApiGenerator({
        baseUrl: server.baseUrl,
        apiKey: server.apiKey,
        agentIds: server.agentIds,
        seed: options.seed,
        warmupMs: steadyAfterMs,
        durationMs: Math.max(1000, options.loadMs - 1000),
        load: { kind: 'open', ratePerSecond: options.ratePerSecond, connections: options.connections },
      }),
      loadScenario(runtime, sims, {
        calls: options.calls,
        durationMs: options.loadMs,
        rampMs: options.rampMs,
        settleMs: 0,
      }),
    ]);
  } finally {
    await server.stop();
  }
  const misses = deadlineMisses(load);
  const added = options.voiceAlone === null ? null : misses.missShare - options.voiceAlone.missShare;
  const p99 = api.latencyMs.p99;
  const apiOk =
    api.errors === 0 &&
    api.requests > 0 &&
    p99 !== null &&
    p99 <= 50 &&
    api.requestsPerSecond >= options.ratePerSecond * 0.95;
  const voiceOk =
    load.calls >= 200 &&
    load.droppedCalls === 0 &&
    misses.missShare < 0.001 &&
    load.after.eventLoopDelayMs.p99 < 10 &&
    (added === null || added <= ADDED_MISS_TOLERANCE);
  const pct = (share: number) => `${(share * 100).toFixed(3)}%`;
  return {
    id: 'e2',
    what: `control-plane API under voice load: ${options.ratePerSecond} req/s open loop while ${load.calls} calls run for ${Math.round(load.durationMs / 1000)} s`,
    figure:
      `API ${api.requestsPerSecond} req/s, ${ms(api.latencyMs)}, ${errorText(api)}, generator send lag p99 ${api.sendLagMs?.p99 ?? '?'} ms; ` +
      `voice deadline misses ${pct(misses.missShare)} (inbound late ${misses.inboundLate}/${misses.inbound}, outbound late+underrun ${misses.outboundMiss}/${misses.outbound}), ` +
      (added === null
        ? 'row b alone not run in this invocation (add b to --only to compare); '
        : `row b alone ${pct(options.voiceAlone!.missShare)}, added ${added >= 0 ? '+' : ''}${pct(added)}; `) +
      `event loop p99 ${load.after.eventLoopDelayMs.p99.toFixed(1)} ms; dropped ${load.droppedCalls}; ` +
      `the voice runtime is the bench's (row b's) process, next to ${serverNote(server, options)}`,
    bar: e2Bar(options.ratePerSecond),
    // Without row b in the same run the comparison is missing, so only a failure is a verdict.
    pass: !apiOk || !voiceOk ? false : added === null ? null : true,
    data: {
      api,
      misses,
      voiceAlone: options.voiceAlone,
      addedMissShare: added,
      load: { ...load, rssByCalls: undefined },
    },
  };
}
