// `npm run bench`: the benchmark of ../shared/reference/benchmarks.md, rows a, a2, b, c, d, e, e2 and f.
// Short mode (default, about a minute) for development; `--full` for the reference's durations and
// loads. Prints one table against the bars and writes bench/results/latest.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { apiThroughputRow, apiUnderVoiceRow, type ApiRowOptions } from './api-load.js';
import { onsetOffsetMs } from './calls.js';
import { loadScenario } from './load.js';
import { deadlineMisses, type DeadlineMisses } from './misses.js';
import { startRuntime } from './runtime-process.js';
import { acceptScenario, bargeInScenario, latencyScenario } from './scenarios.js';
import { startSimulators } from './sims.js';
import { distribution, type Distribution } from './stats.js';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    calls: { type: 'string' },
    'load-seconds': { type: 'string' },
    'settle-seconds': { type: 'string' },
    only: { type: 'string' },
    'barge-in-words': { type: 'string' },
    'no-interrupt-phrases': { type: 'boolean', default: false },
    /** Row c's soak: hold the load this many minutes (the reference says 60) and report RSS growth. */
    'soak-minutes': { type: 'string' },
    /** Row e: the counted seconds of the closed-loop API run (the reference says 60), its warm-up and connections. */
    'api-seconds': { type: 'string' },
    'api-warmup-seconds': { type: 'string' },
    'api-connections': { type: 'string' },
    /** Row e2: the fixed API rate sent while the voice load runs. */
    'api-rate': { type: 'string' },
    /** Where row e creates (and drops) its own database; the role must be allowed to create databases. */
    'api-database-url': { type: 'string' },
    /** The API server's LOG_LEVEL (info, its default, logs every request). */
    'api-log-level': { type: 'string' },
  },
});

const full = values.full ?? false;
const only = new Set((values.only ?? 'e,a,d,f,b,e2').split(','));
/** Rows that need the voice runtime and the provider simulators. */
const VOICE_ROWS = ['a', 'a2', 'b', 'c', 'd', 'f', 'e2'];
const MODE = full
  ? {
      latencyCalls: 10,
      latencyTurns: 20,
      bargeInCalls: 5,
      bargeInRounds: 10,
      acceptSequential: 50,
      loadCalls: 200,
      loadMs: 600_000,
      rampMs: 60_000,
      settleMs: 60_000,
    }
  : {
      latencyCalls: 5,
      latencyTurns: 4,
      bargeInCalls: 3,
      bargeInRounds: 3,
      acceptSequential: 10,
      loadCalls: 40,
      loadMs: 30_000,
      rampMs: 10_000,
      settleMs: 10_000,
    };
if (values.calls) MODE.loadCalls = Number(values.calls);
if (values['load-seconds']) MODE.loadMs = Number(values['load-seconds']) * 1000;
if (values['soak-minutes']) MODE.loadMs = Number(values['soak-minutes']) * 60_000;
// The reference checks RSS 60 s after the last call (the full run's setting).
if (values['settle-seconds']) MODE.settleMs = Number(values['settle-seconds']) * 1000;

const API: ApiRowOptions = {
  adminDatabaseUrl:
    values['api-database-url'] ??
    process.env['BENCH_DATABASE_URL'] ??
    'postgres://postgres@127.0.0.1:5432/postgres',
  // The largest PARLEY_API_RATE_LIMIT_PER_MINUTE accepts: far above what one key sends in a run, so the
  // limiter still runs (its cost is measured) but never answers 429.
  rateLimitPerMinute: 1_000_000,
  logLevel: values['api-log-level'] ?? 'info',
  seedAgents: 300,
  connections: Number(values['api-connections'] ?? 50),
  durationMs: Number(values['api-seconds'] ?? 60) * 1000,
  warmupMs: Number(values['api-warmup-seconds'] ?? 5) * 1000,
  seed: 7,
};
const API_RATE = Number(values['api-rate'] ?? 200);

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

interface Row {
  id: string;
  what: string;
  figure: string;
  bar: string;
  pass: boolean | null;
  data: unknown;
}

function fmt(d: Distribution): string {
  return d.count === 0 ? 'no samples' : `p50 ${d.p50} / p95 ${d.p95} / p99 ${d.p99} ms (n=${d.count})`;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const startedAt = new Date().toISOString();
  // Row e first, before the voice runtime exists: the control plane alone on the machine.
  if (only.has('e')) rows.push(await apiThroughputRow(API));
  if (!VOICE_ROWS.some((id) => only.has(id))) return writeResults(rows, startedAt);
  const sims = await startSimulators();
  const runtime = await startRuntime({
    sttUrl: sims.stt.url,
    llmUrl: sims.llm.url,
    ttsUrl: sims.tts.baseUrl,
    ttsApiKey: sims.tts.apiKey,
    minInterruptionWords: Number(values['barge-in-words'] ?? 0),
    noInterruptPhrases: values['no-interrupt-phrases'] ?? false,
  });
  // Warm up (JIT, the shared TTS socket, the VAD session) so the first measured call is not a cold start.
  await acceptScenario(runtime, sims, { sequential: 3, burst: 0 });
  await runtime.report(true);
  let voiceAlone: DeadlineMisses | null = null;
  try {
    if (only.has('a')) {
      await runtime.report(true);
      const latency = await latencyScenario(runtime, sims, {
        calls: MODE.latencyCalls,
        turnsPerCall: MODE.latencyTurns,
      });
      const internal = await runtime.report(true);
      const a = distribution(latency.turns.map((t) => t.orchestratorMs));
      rows.push({
        id: 'a',
        what: `orchestrator-added latency per turn (${MODE.latencyCalls} calls)`,
        figure: fmt(a),
        bar: 'p50 ≤ 5, p99 ≤ 15 ms',
        pass: a.count > 0 && a.p50! <= 5 && a.p99! <= 15,
        data: {
          ...a,
          failures: latency.failures,
          literalFormula: distribution(latency.turns.map((t) => t.literalMs)),
          sessionReportedOrchestratorMs: distribution(internal.orchestratorMs),
        },
      });
      const a2 = distribution(internal.endpointingOverheadMs);
      rows.push({
        id: 'a2',
        what: 'endpointing overhead (last voiced window → commit − silence)',
        figure: fmt(a2),
        bar: 'p95 ≤ 35 ms',
        pass: a2.count > 0 && a2.p95! <= 35,
        data: a2,
      });
    }
    if (only.has('d')) {
      const d = await bargeInScenario(runtime, sims, {
        calls: MODE.bargeInCalls,
        roundsPerCall: MODE.bargeInRounds,
      });
      const clear = distribution(d.clearLatencyMs);
      const leftover = d.framesAfterClear.reduce((sum, n) => sum + n, 0);
      const cancels = distribution([...d.llmCancelMs, ...d.ttsCancelMs]);
      const falseBargeIns = Object.values(d.falseBargeIns).reduce((sum, n) => sum + n, 0);
      rows.push({
        id: 'd',
        what: `barge-in: speech onset → clear at the carrier (96 ms confirm, ${values['barge-in-words'] ?? 0} words${values['no-interrupt-phrases'] ? ', no interrupt phrases' : ''})`,
        figure: `${fmt(clear)}; frames after clear ${leftover}; cancels ${fmt(cancels)}; false barge-ins ${JSON.stringify(d.falseBargeIns)}`,
        bar: 'p50 ≤ 120, p95 ≤ 150 ms; 0 frames after; cancel ≤ 10 ms; 0 false',
        pass:
          clear.count > 0 &&
          clear.p50! <= 120 &&
          clear.p95! <= 150 &&
          leftover === 0 &&
          (cancels.count === 0 || cancels.max! <= 10) &&
          falseBargeIns === 0,
        data: { clear, leftover, cancels, ...d },
      });
    }
    if (only.has('f')) {
      const f = await acceptScenario(runtime, sims, { sequential: MODE.acceptSequential, burst: 20 });
      const single = distribution(f.acceptMs);
      const burst = distribution(f.burstAcceptMs);
      rows.push({
        id: 'f',
        what: 'call accept: start → first greeting frame − TTS first byte',
        figure: `single ${fmt(single)}; burst of 20 in 1 s ${fmt(burst)}`,
        bar: 'p99 ≤ 10 ms',
        pass: single.count > 0 && burst.count > 0 && single.p99! <= 10 && burst.p99! <= 10,
        data: { single, burst, failures: f.failures },
      });
    }
    if (only.has('b')) {
      const load = await loadScenario(runtime, sims, {
        calls: MODE.loadCalls,
        durationMs: MODE.loadMs,
        rampMs: MODE.rampMs,
        settleMs: MODE.settleMs,
      });
      voiceAlone = deadlineMisses(load);
      const { inbound, inboundLate, outbound, outboundMiss, missShare } = voiceAlone;
      const onset = onsetOffsetMs('interrupt-wait');
      const bargeIn = distribution(load.bargeInClearMs.map((ms) => ms - onset));
      rows.push({
        id: 'b',
        what: `load: ${load.calls} concurrent calls for ${Math.round(load.durationMs / 1000)} s`,
        figure:
          `deadline misses ${(missShare * 100).toFixed(3)}% (inbound late ${inboundLate}/${inbound}, outbound late+underrun ${outboundMiss}/${outbound}); ` +
          `event loop p99 ${load.after.eventLoopDelayMs.p99.toFixed(1)} ms; dropped ${load.droppedCalls}; barge-in under load ${fmt(bargeIn)}; ` +
          `generator late frames ${load.generatorLateFrames}/${load.generatorFrames}; ` +
          `CPU runtime ${load.runtimeCoreShare.toFixed(2)} cores (event loop ${load.runtimeMainThreadCoreShare?.toFixed(2) ?? '?'}), ` +
          `generator ${load.generatorCoreShare.toFixed(2)} cores; VAD ${load.vadWindowsPerBatch.toFixed(1)} windows/batch, ${load.after.vadWindowsShed - load.before.vadWindowsShed} skipped (overload)`,
        bar: '≥ 200 calls, < 0.1% misses, loop p99 < 10 ms, none dropped',
        pass:
          load.calls >= 200 &&
          missShare < 0.001 &&
          load.after.eventLoopDelayMs.p99 < 10 &&
          load.droppedCalls === 0,
        data: { ...load, missShare, bargeIn },
      });
      const points = load.rssByCalls.filter(([calls]) => calls > 0);
      const slope = rssSlope(points);
      const holdGrowthMb = (load.after.rssBytes - load.before.rssBytes) / 1e6;
      const settledRatio = load.settledRssBytes / load.baselineRssBytes;
      const holdMinutes = load.durationMs / 60_000;
      rows.push({
        id: 'c',
        what: 'memory: RSS slope while ramping; growth over the held load; back to baseline after',
        figure:
          (slope === null ? 'slope: not enough samples' : `${(slope / 1e6).toFixed(2)} MB per call`) +
          `; held ${holdMinutes.toFixed(1)} min: ${holdGrowthMb >= 0 ? '+' : ''}${holdGrowthMb.toFixed(1)} MB` +
          `; ${Math.round(MODE.settleMs / 1000)} s after the last call: ${((settledRatio - 1) * 100).toFixed(1)}% over baseline` +
          ` (RSS ${mb(load.baselineRssBytes)} → ${mb(load.settledRssBytes)} MB, V8 heap ${mb(load.baseline.heapTotalBytes)} → ` +
          `${mb(load.settled.heapTotalBytes)} MB, external ${mb(load.baseline.externalBytes)} → ${mb(load.settled.externalBytes)} MB)` +
          (load.callsActiveAtSettle > 0
            ? `; ${load.callsActiveAtSettle} calls still active 30 s after hang-up (settled figure void)`
            : ''),
        bar: '≤ 2 MB per call; 60-minute soak grows ≤ 10 MB (--soak-minutes 60); within 10% of baseline after',
        // A failed part fails the row even when the slope could not be measured (too few samples).
        pass:
          load.callsActiveAtSettle > 0 || settledRatio > 1.1 || (holdMinutes >= 60 && holdGrowthMb > 10)
            ? false
            : slope === null
              ? null
              : slope / 1e6 <= 2,
        data: {
          points,
          slopeBytesPerCall: slope,
          holdGrowthBytes: load.after.rssBytes - load.before.rssBytes,
          baselineRssBytes: load.baselineRssBytes,
          settledRssBytes: load.settledRssBytes,
        },
      });
    }
    if (only.has('e2')) {
      rows.push(
        await apiUnderVoiceRow(runtime, sims, {
          ...API,
          ratePerSecond: API_RATE,
          calls: MODE.loadCalls,
          loadMs: MODE.loadMs,
          rampMs: MODE.rampMs,
          voiceAlone,
        }),
      );
    }
  } finally {
    await runtime.stop();
    await sims.close();
  }
  await writeResults(rows, startedAt);
}

async function writeResults(rows: Row[], startedAt: string): Promise<void> {
  printTable(rows);
  await mkdir(new URL('../results/', import.meta.url), { recursive: true });
  await writeFile(
    new URL('../results/latest.json', import.meta.url),
    JSON.stringify(
      {
        startedAt,
        mode: full ? 'full' : 'short',
        machine: { cpus: (await import('node:os')).cpus().length },
        rows,
      },
      null,
      2,
    ) + '\n',
  );
}

/** Least-squares slope of RSS against active calls. */
function rssSlope(points: [number, number][]): number | null {
  if (points.length < 3) return null;
  const n = points.length;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? null : num / den;
}

function printTable(rows: Row[]): void {
  const lines = ['', 'id  | result | what', '----|--------|-----'];
  for (const row of rows) {
    const verdict = row.pass === null ? '  n/a ' : row.pass ? ' pass ' : ' MISS ';
    lines.push(`${row.id.padEnd(3)} |${verdict}| ${row.what}`);
    lines.push(`    |        |   ${row.figure}`);
    lines.push(`    |        |   bar: ${row.bar}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

void main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`);
  process.exit(1);
});
