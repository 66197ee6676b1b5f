// Rows (b) and (c): many concurrent calls following the call model (a caller turn every ~4 s, the
// agent speaking about half the time, a barge-in every 10th turn), measuring deadline misses, event-
// loop delay, latency under load, dropped calls and memory per call.
import type { FixtureName } from '@parley/testkit';
import { placeCall, say, type BenchCall } from './calls.js';
import type { RuntimeProcess } from './runtime-process.js';
import type { RuntimeReport } from './runtime.js';
import type { Simulators } from './sims.js';

const TURN_FIXTURES: FixtureName[] = ['opening-hours', 'thank-you', 'greeting-request'];

export interface LoadResult {
  calls: number;
  durationMs: number;
  droppedCalls: number;
  /** Clear latency of the barge-ins made during the load. */
  bargeInClearMs: number[];
  /** Caller frames the load generator itself sent late (its own saturation, not Parley's). */
  generatorLateFrames: number;
  generatorFrames: number;
  /** Held-load counters: `before` is taken when the last call has been placed, `after` at the end. */
  before: RuntimeReport;
  after: RuntimeReport;
  /** CPU the runtime used during the held load, in cores (1 = one core busy all the time). */
  runtimeCoreShare: number;
  /** CPU of the runtime's event-loop thread alone, in cores (null where it cannot be read). */
  runtimeMainThreadCoreShare: number | null;
  /** Silero windows per inference batch during the held load. */
  vadWindowsPerBatch: number;
  /** CPU the load generator (callers and simulators) used during the held load, in cores. */
  generatorCoreShare: number;
  /** RSS of the runtime sampled as calls ramp up: [activeCalls, rssBytes]. */
  rssByCalls: [number, number][];
  /** RSS before the first load call, and `settleMs` after the last one ended. */
  baselineRssBytes: number;
  settledRssBytes: number;
  /** Calls the runtime still carried 30 s after every caller hung up: the settled figure is then void. */
  callsActiveAtSettle: number;
  /** The runtime's reports at the baseline and once settled (heap and external memory). */
  baseline: RuntimeReport;
  settled: RuntimeReport;
  failures: string[];
}

export async function loadScenario(
  runtime: RuntimeProcess,
  sims: Simulators,
  options: { calls: number; durationMs: number; rampMs: number; settleMs: number },
): Promise<LoadResult> {
  // The figures are for the held load: counters restart once every call has been placed.
  let before = await runtime.report();
  const baselineRssBytes = before.rssBytes;
  let generatorCpuAtSteady = process.cpuUsage();
  const steady = setTimeout(() => {
    void runtime.report(true).then((report) => {
      before = report;
      generatorCpuAtSteady = process.cpuUsage();
    });
  }, options.rampMs + 1000);
  const failures: string[] = [];
  const bargeInClearMs: number[] = [];
  const rssByCalls: [number, number][] = [];
  let dropped = 0;
  const calls: BenchCall[] = [];
  const endAt = performance.now() + options.rampMs + options.durationMs;
  const sampler = setInterval(() => {
    void runtime.report().then((report) => rssByCalls.push([report.activeCalls, report.rssBytes]));
  }, 2000);

  await Promise.all(
    Array.from({ length: options.calls }, async (_, index) => {
      await new Promise((resolve) => setTimeout(resolve, (options.rampMs * index) / options.calls));
      const tag = `load${index}`;
      let call: BenchCall;
      try {
        call = await placeCall(runtime.mediaUrl, sims, tag);
      } catch (error) {
        failures.push(`${tag}: could not connect: ${String(error)}`);
        dropped++;
        return;
      }
      calls.push(call);
      try {
        for (let turn = 0; performance.now() < endAt; turn++) {
          if (call.caller.closedAtMs !== null) {
            dropped++;
            failures.push(`${tag}: closed by the runtime`);
            return;
          }
          const bargeIn = turn % 10 === 9;
          if (bargeIn) {
            // Wait for the agent to be talking, then interrupt it.
            const speaking = await call.caller
              .waitFor(() => call.caller.firstNonSilentOutboundAfter(performance.now() - 100), 8000)
              .catch(() => null);
            const { startedAtMs } = await say(call, sims, 'interrupt-wait');
            const clear = speaking === null ? undefined : call.caller.clearsAfter(startedAtMs)[0];
            if (clear !== undefined) bargeInClearMs.push(clear - startedAtMs);
          } else {
            await say(call, sims, TURN_FIXTURES[turn % TURN_FIXTURES.length]!);
          }
          // A turn every ~4 s: the agent answers in between.
          await new Promise((resolve) => setTimeout(resolve, 1500 + ((index * 37 + turn * 91) % 1000)));
        }
      } catch (error) {
        failures.push(`${tag}: ${String(error)}`);
      }
    }),
  );
  clearInterval(sampler);
  clearTimeout(steady);
  const after = await runtime.report();
  const generatorCpu = process.cpuUsage(generatorCpuAtSteady);
  const generatorLateFrames = calls.reduce((sum, call) => sum + call.caller.lateFrames, 0);
  const generatorFrames = calls.reduce((sum, call) => sum + call.caller.framesSent, 0);
  await Promise.all(calls.map((call) => call.caller.hangUp().catch(() => {})));
  // Memory must come back once the calls are gone (row c): wait for the runtime to end them all, then
  // give the allocator and the collector the settling time the reference allows.
  let stillActive = (await runtime.report()).activeCalls;
  for (let waited = 0; waited < 30_000 && stillActive > 0; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    stillActive = (await runtime.report()).activeCalls;
  }
  await new Promise((resolve) => setTimeout(resolve, options.settleMs));
  const settled = await runtime.report();
  const settledRssBytes = settled.rssBytes;
  return {
    baselineRssBytes,
    settledRssBytes,
    callsActiveAtSettle: stillActive,
    baseline: before,
    settled,
    calls: options.calls,
    durationMs: options.durationMs,
    droppedCalls: dropped,
    bargeInClearMs,
    generatorLateFrames,
    generatorFrames,
    before,
    after,
    runtimeCoreShare: after.cpuMs / Math.max(1, after.wallMs),
    runtimeMainThreadCoreShare:
      after.mainThreadCpuMs === null ? null : after.mainThreadCpuMs / Math.max(1, after.wallMs),
    vadWindowsPerBatch:
      (after.vadWindows - before.vadWindows) / Math.max(1, after.vadBatches - before.vadBatches),
    generatorCoreShare: (generatorCpu.user + generatorCpu.system) / 1000 / Math.max(1, after.wallMs),
    rssByCalls,
    failures,
  };
}
