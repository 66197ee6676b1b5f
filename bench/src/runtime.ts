// The system under test, in its own process: a Parley voice runtime terminating Twilio-style media
// WebSockets and running a CallSession per call against the provider simulators, with the process's
// one shared Silero model. The parent process drives the calls and measures at the simulators; this
// process reports only what cannot be seen from outside (endpointing overhead, event-loop delay,
// pacing misses, memory).
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
  heapUsedBytes: number;
  errors: string[];
}

type Message = { type: 'report'; reset?: boolean } | { type: 'stop' };

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as RuntimeConfig;
  const vad = await SileroVadModel.shared();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const sessions = new Set<CallSession>();
  const finishedPacing = { frames: 0, late: 0, underruns: 0 };
  let report = freshReport();

  function freshReport(): Omit<
    RuntimeReport,
    'eventLoopDelayMs' | 'rssBytes' | 'heapUsedBytes' | 'activeCalls'
  > {
    return {
      callsStarted: 0,
      callsEnded: 0,
      endpointingOverheadMs: [],
      orchestratorMs: [],
      inboundFrames: 0,
      inboundLateFrames: 0,
      outboundFrames: 0,
      outboundLateFrames: 0,
      outboundUnderruns: 0,
      errors: [],
    };
  }

  // One Cartesia socket per process, one context per utterance, as the vendor recommends.
  const tts = new CartesiaTts({ apiKey: config.ttsApiKey, baseUrl: config.ttsUrl });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/media/twilio' });
  wss.on('connection', (socket) => {
    // Inbound lateness: arrival time against the caller's own media timestamp, relative to the
    // earliest offset seen on this call (the loopback path's fixed delay).
    let baseOffsetMs = Number.POSITIVE_INFINITY;
    socket.on('message', (raw) => {
      const text = raw.toString();
      if (!text.includes('"media"')) return;
      const match = /"timestamp":"(\d+)"/.exec(text);
      if (!match) return;
      const offset = performance.now() - Number(match[1]);
      baseOffsetMs = Math.min(baseOffsetMs, offset);
      report.inboundFrames++;
      if (offset - baseOffsetMs > 20) report.inboundLateFrames++;
    });
    void (async () => {
      const { transport, start } = await TwilioMediaTransport.accept(socket, { startTimeoutMs: 5000 });
      const tag = start.customParameters['callId'] ?? start.callSid;
      const key = `call-${tag}`;
      report.callsStarted++;
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
              report.endpointingOverheadMs.push(silence - BENCH_TURN_TAKING.endpointingSilenceMs);
            }
          } else if (event.type === 'turn.latency' && event.latency.orchestratorMs !== null) {
            report.orchestratorMs.push(event.latency.orchestratorMs);
          } else if (event.type === 'error') {
            report.errors.push(`${event.code}: ${event.message}`.slice(0, 200));
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
      report.callsEnded++;
    })().catch((error: unknown) => {
      report.errors.push(String(error).slice(0, 200));
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
      const full: RuntimeReport = {
        ...report,
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
      };
      process.send?.({ type: 'report', report: full });
      if (message.reset) {
        report = freshReport();
        finishedPacing.frames = finishedPacing.late = finishedPacing.underruns = 0;
        loopDelay.reset();
      }
    }
  });
  process.send?.({ type: 'ready', url: `ws://127.0.0.1:${port}/media/twilio` });
}

void main().catch((error: unknown) => {
  process.send?.({ type: 'failed', error: String(error) });
  process.exit(1);
});
