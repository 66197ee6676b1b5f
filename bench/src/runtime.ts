// The system under test, in its own process: a Parley voice runtime terminating Twilio-style media
// WebSockets and running a CallSession per call against the provider simulators, with the process's
// one shared Silero model. The parent process drives the calls and measures at the simulators; this
// process reports only what cannot be seen from outside (endpointing overhead, event-loop delay,
// pacing misses, memory).
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CartesiaTts, DeepgramStt, OpenAiCompatibleChat } from '@parley/providers';
import { TwilioMediaTransport } from '@parley/telephony';
import { CallSession, SileroVadModel, type CallEvent } from '@parley/voice';
import { WebSocketServer } from 'ws';
import { benchAgent, BENCH_TURN_TAKING } from './profile.js';

export interface RuntimeConfig {
  sttUrl: string;
  llmUrl: string;
  ttsUrl: string;
  ttsApiKey: string;
  /** Content words a barge-in needs (row d is quoted for 0: speech duration alone). */
  minInterruptionWords?: number;
  /** Drop the interrupt phrases ("stop", "wait") so a barge-in is decided by words or duration alone. */
  noInterruptPhrases?: boolean;
}

export interface RuntimeReport {
  activeCalls: number;
  callsStarted: number;
  callsEnded: number;
  /** Last voiced VAD window → turn committed, minus the configured silence (row a2). */
  endpointingOverheadMs: number[];
  /** Orchestrator-added latency as the session itself measured it (cross-check for row a). */
  orchestratorMs: number[];
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Inbound frames handled more than 20 ms after their schedule (by the caller's media timestamps). */
  inboundFrames: number;
  inboundLateFrames: number;
  outboundFrames: number;
  outboundLateFrames: number;
  outboundUnderruns: number;
  rssBytes: number;
  /** V8's heap as reserved (what a settled process can give back) and memory outside it (Buffers). */
  heapTotalBytes: number;
  externalBytes: number;
  heapUsedBytes: number;
  /** CPU time (user + system) the runtime process used since the last reset, all its threads. */
  cpuMs: number;
  /** CPU time of the main (event-loop) thread alone since the last reset; null where /proc is missing. */
  mainThreadCpuMs: number | null;
  /** Wall time since the last reset, to turn cpuMs into a share of a core. */
  wallMs: number;
  /** VAD batches and windows since the process started (windows per batch shows the batching). */
  vadBatches: number;
  vadWindows: number;
  /** Windows the VAD skipped because the process could not analyse them in time (overload). */
  vadWindowsShed: number;
  errors: string[];
}

type Message = { type: 'report'; reset?: boolean } | { type: 'stop' };

/** The bench caller's send-time stamp in its media messages (see TwilioCallerOptions.stampSendTimes). */
const SENT_AT = '"sentAt":"';
const QUOTE = 0x22;

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as RuntimeConfig;
  const vad = await SileroVadModel.shared();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const sessions = new Set<CallSession>();
  // Frame and call counters only ever grow (readers subtract two reports); the distributions, the
  // loop delay and the CPU clock restart on a report with `reset`.
  const counters = { callsStarted: 0, callsEnded: 0, inboundFrames: 0, inboundLateFrames: 0 };
  const finishedPacing = { frames: 0, late: 0, underruns: 0 };
  let window = freshWindow();
  let cpuAtReset = process.cpuUsage();
  let mainThreadCpuAtReset = mainThreadCpuMs();
  let wallAtReset = performance.now();

  function freshWindow(): Pick<RuntimeReport, 'endpointingOverheadMs' | 'orchestratorMs' | 'errors'> {
    return { endpointingOverheadMs: [], orchestratorMs: [], errors: [] };
  }

  // One Cartesia socket per process, one context per utterance, as the vendor recommends.
  const tts = new CartesiaTts({ apiKey: config.ttsApiKey, baseUrl: config.ttsUrl });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/media/twilio' });
  wss.on('connection', (socket) => {
    // Inbound lateness: when the frame is handled here against when the caller actually sent it
    // (its `sentAt` stamp, epoch ms), relative to the smallest such delay seen on this call (the
    // loopback path's fixed delay). The caller's own lateness is the generator's, reported apart.
    let baseOffsetMs = Number.POSITIVE_INFINITY;
    // Read from the raw bytes: this runs in the process under test, for every frame.
    socket.on('message', (raw: Buffer) => {
      const at = raw.indexOf(SENT_AT);
      if (at < 0) return;
      const start = at + SENT_AT.length;
      const sentAtMs = Number(raw.toString('latin1', start, raw.indexOf(QUOTE, start)));
      const offset = performance.timeOrigin + performance.now() - sentAtMs;
      baseOffsetMs = Math.min(baseOffsetMs, offset);
      counters.inboundFrames++;
      if (offset - baseOffsetMs > 20) counters.inboundLateFrames++;
    });
    void (async () => {
      const { transport, start } = await TwilioMediaTransport.accept(socket, { startTimeoutMs: 5000 });
      const tag = start.customParameters['callId'] ?? start.callSid;
      const key = `call-${tag}`;
      counters.callsStarted++;
      const session = new CallSession({
        callId: tag,
        transport,
        agent: benchAgent(tag, {
          turnTaking: {
            ...BENCH_TURN_TAKING,
            minInterruptionWords: config.minInterruptionWords ?? 0,
            ...(config.noInterruptPhrases ? { interruptPhrases: [] } : {}),
          },
        }),
        stt: new DeepgramStt({ apiKey: key, baseUrl: config.sttUrl }),
        llm: new OpenAiCompatibleChat({ apiKey: key, baseUrl: config.llmUrl, model: 'bench' }),
        tts: [tts],
        vad: vad.createStream(8000),
        onEvent: (event: CallEvent) => {
          if (event.type === 'decision' && event.decision === 'turn.committed') {
            const silence = event.data?.['silenceMs'];
            if (typeof silence === 'number') {
              window.endpointingOverheadMs.push(silence - BENCH_TURN_TAKING.endpointingSilenceMs);
            }
          } else if (event.type === 'turn.latency' && event.latency.orchestratorMs !== null) {
            window.orchestratorMs.push(event.latency.orchestratorMs);
          } else if (event.type === 'error') {
            window.errors.push(`${event.code}: ${event.message}`.slice(0, 200));
          }
        },
      });
      sessions.add(session);
      session.start();
      const outcome = await session.ended;
      void outcome;
      const stats = session.pacerStats;
      finishedPacing.frames += stats.framesSent;
      finishedPacing.late += stats.lateFrames;
      finishedPacing.underruns += stats.underruns;
      sessions.delete(session);
      counters.callsEnded++;
    })().catch((error: unknown) => {
      window.errors.push(String(error).slice(0, 200));
      socket.close();
    });
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  process.on('message', (message: Message) => {
    if (message.type === 'stop') {
      wss.close();
      process.exit(0);
    }
    if (message.type === 'report') {
      let frames = finishedPacing.frames;
      let late = finishedPacing.late;
      let underruns = finishedPacing.underruns;
      for (const session of sessions) {
        const stats = session.pacerStats;
        frames += stats.framesSent;
        late += stats.lateFrames;
        underruns += stats.underruns;
      }
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage(cpuAtReset);
      const full: RuntimeReport = {
        ...counters,
        ...window,
        activeCalls: sessions.size,
        outboundFrames: frames,
        outboundLateFrames: late,
        outboundUnderruns: underruns,
        eventLoopDelayMs: {
          p50: loopDelay.percentile(50) / 1e6,
          p99: loopDelay.percentile(99) / 1e6,
          max: loopDelay.max / 1e6,
        },
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        heapTotalBytes: memory.heapTotal,
        externalBytes: memory.external,
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs: performance.now() - wallAtReset,
        mainThreadCpuMs: subtractOrNull(mainThreadCpuMs(), mainThreadCpuAtReset),
        vadBatches: vad.stats.batches,
        vadWindows: vad.stats.windows,
        vadWindowsShed: vad.stats.windowsShed,
      };
      process.send?.({ type: 'report', report: full });
      if (message.reset) {
        window = freshWindow();
        loopDelay.reset();
        cpuAtReset = process.cpuUsage();
        mainThreadCpuAtReset = mainThreadCpuMs();
        wallAtReset = performance.now();
      }
    }
  });
  process.send?.({ type: 'ready', url: `ws://127.0.0.1:${port}/media/twilio` });
}

/** utime + stime of the main thread (Linux: its task id is the process id), in ms. */
function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** USER_HZ on Linux: 100 on every mainstream build. */
const CLOCK_TICKS_PER_SECOND = 100;

function subtractOrNull(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a - b;
}

void main().catch((error: unknown) => {
  process.send?.({ type: 'failed', error: String(error) });
  process.exit(1);
});
