// The part of the server that carries calls: one per process, many calls on one event loop. It
// registers itself and heartbeats so that calls it was carrying when it died are closed by the next
// sweep (its own at start-up, or another runtime's), runs each claimed call as a CallSession with the
// process's shared Silero model, and writes the call's events, transcript and recording as they happen.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import {
  CallJournal,
  heartbeatRuntime,
  registerRuntime,
  resolveCredentialSecret,
  sweepLostCalls,
  type ClaimedCall,
  type ServiceDeps,
} from '@parley/services';
import {
  CallSession,
  openWavFile,
  SileroVadModel,
  type CallEvent,
  type CallTransport,
  type TurnLatency,
  WAV_HEADER_BYTES,
} from '@parley/voice';
import { nowOf, systemOrgContext } from './telephony-env.js';
import { buildSessionSetup, SessionSetupError, type SessionSetup } from './session-config.js';

export interface VoiceRuntimeOptions {
  deps: ServiceDeps;
  runtimeId: string;
  /** Where call recordings are written (one WAV per call, caller left, agent right). */
  recordingsDir: string;
  /** Operator overrides of vendor endpoints, by provider id. */
  providerUrls: Readonly<Record<string, string>>;
  logger: FastifyBaseLogger;
  heartbeatIntervalMs?: number;
  /** A runtime silent this long is presumed dead and its calls are closed as runtime_lost. */
  staleAfterMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_STALE_AFTER_MS = 30_000;

export class VoiceRuntime {
  private readonly sessions = new Map<string, CallSession>();
  private readonly running = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private closing = false;

  private constructor(private readonly options: VoiceRuntimeOptions) {}

  static async start(options: VoiceRuntimeOptions): Promise<VoiceRuntime> {
    const runtime = new VoiceRuntime(options);
    await mkdir(options.recordingsDir, { recursive: true });
    await registerRuntime(options.deps.db, options.runtimeId, runtime.now());
    await runtime.sweep();
    const interval = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
    runtime.timer = setInterval(() => void runtime.tick(), interval);
    runtime.timer.unref();
    return runtime;
  }

  get runtimeId(): string {
    return this.options.runtimeId;
  }

  get activeCalls(): number {
    return this.sessions.size;
  }

  /** Runs a call whose media a carrier has connected; resolves once it has ended and been written. */
  runCall(claimed: ClaimedCall, transport: CallTransport): Promise<void> {
    const run = this.carry(claimed, transport).catch((error: unknown) => {
      this.options.logger.error({ err: error, callId: claimed.call.id }, 'call failed in the runtime');
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  /** Ends every call (the callers hear nothing more) and waits for their records to be written. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    for (const session of this.sessions.values()) void session.hangUp('server_shutdown');
    await Promise.allSettled([...this.running]);
  }

  private async carry(claimed: ClaimedCall, transport: CallTransport): Promise<void> {
    const { call } = claimed;
    const log = this.options.logger.child({ callId: call.id, organizationId: call.organizationId });
    const journal = new CallJournal(
      this.options.deps.db,
      { id: call.id, organizationId: call.organizationId },
      { onWriteError: (error) => log.warn({ err: error }, 'call events not written yet; retrying') },
    );
    if (this.closing) {
      await transport.hangUp('server_shutdown');
      await journal.close({ status: 'failed', endReason: 'server_shutdown', endedAt: this.now() });
      return;
    }

    // Anything that stops the call before it starts (a misconfigured agent, an unwritable recordings
    // directory, a VAD that cannot load) ends it as failed with the reason, never left in progress.
    let setup: SessionSetup;
    let recordingPath: string | null;
    let recording: Awaited<ReturnType<typeof openWavFile>> | null;
    let vad: SileroVadModel;
    try {
      setup = await this.setUp(claimed);
      recordingPath = setup.recordingEnabled ? path.join(this.options.recordingsDir, `${call.id}.wav`) : null;
      recording = recordingPath
        ? await openWavFile(recordingPath, { sampleRateHz: transport.inputFormat.sampleRateHz, channels: 2 })
        : null;
      if (recordingPath) await journal.recordingStarted(recordingPath);
      vad = await SileroVadModel.shared();
    } catch (error) {
      const reason = error instanceof SessionSetupError ? error.message : 'internal error';
      log.warn(
        { reason, err: error instanceof SessionSetupError ? undefined : error },
        'call could not be set up',
      );
      journal.record({ seq: 1, atMs: 0, type: 'error', code: 'setup_failed', message: reason, fatal: true });
      await transport.hangUp('setup_failed');
      await journal.close({ status: 'failed', endReason: 'setup_failed', endedAt: this.now() });
      return;
    }
    const latencies: TurnLatency[] = [];
    const session = new CallSession({
      callId: call.id,
      transport,
      agent: setup.agent,
      stt: setup.stt,
      llm: setup.llm,
      tts: setup.tts,
      vad: vad.createStream(transport.inputFormat.sampleRateHz === 16000 ? 16000 : 8000),
      recording,
      onEvent: (event: CallEvent) => {
        if (event.type === 'turn.latency') latencies.push(event.latency);
        journal.record(event);
      },
    });
    this.sessions.set(call.id, session);
    log.info({ direction: call.direction, transport: call.transport }, 'call started');
    try {
      session.start();
      const outcome = await session.ended;
      await journal.close({
        status: 'completed',
        endReason: outcome.reason,
        endedAt: this.now(),
        ...(recordingPath
          ? {
              recordingPath,
              recordingDurationMs: await wavDurationMs(recordingPath, transport.inputFormat.sampleRateHz),
            }
          : {}),
        latency: summarizeLatency(latencies),
      });
      log.info({ endReason: outcome.reason, durationMs: outcome.durationMs }, 'call ended');
    } finally {
      this.sessions.delete(call.id);
    }
  }

  private async setUp(claimed: ClaimedCall): Promise<SessionSetup> {
    const { call } = claimed;
    const org = await systemOrgContext(this.options.deps, call.organizationId);
    const direction = call.direction;
    return buildSessionSetup(
      claimed.agentConfig,
      {
        callId: call.id,
        direction,
        customerNumber: direction === 'outbound' ? call.toNumber : call.fromNumber,
        variables: call.variables,
        now: this.now(),
      },
      (credentialId) => resolveCredentialSecret(org, credentialId),
      this.options.providerUrls,
    );
  }

  private async tick(): Promise<void> {
    try {
      await heartbeatRuntime(this.options.deps.db, this.options.runtimeId, this.now());
      await this.sweep();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'runtime heartbeat failed');
    }
  }

  private async sweep(): Promise<void> {
    const closed = await sweepLostCalls(this.options.deps.db, {
      now: this.now(),
      staleAfterMs: this.options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    });
    if (closed.length > 0) this.options.logger.warn({ callIds: closed }, 'closed calls of a lost runtime');
  }

  private now(): Date {
    return nowOf(this.options.deps);
  }
}

/** p50/p95 of each stage over the call's turns, for the call record. */
function summarizeLatency(turns: readonly TurnLatency[]): Record<string, unknown> {
  const stages = [
    'endpointingMs',
    'sttMs',
    'llmFirstTokenMs',
    'ttsFirstByteMs',
    'orchestratorMs',
    'voiceToVoiceMs',
  ] as const;
  const summary: Record<string, unknown> = { turns: turns.length };
  for (const stage of stages) {
    const values = turns
      .map((turn) => turn[stage])
      .filter((v): v is number => v !== null)
      .sort((a, b) => a - b);
    if (values.length === 0) continue;
    const at = (q: number) => values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)]!;
    summary[stage] = { p50: at(0.5), p95: at(0.95) };
  }
  return summary;
}

/** Length of a stereo PCM16 recording from its size: the audio actually kept, not the session's clock. */
async function wavDurationMs(file: string, sampleRateHz: number): Promise<number> {
  const { size } = await stat(file);
  return Math.round(((size - WAV_HEADER_BYTES) / (2 * 2 * sampleRateHz)) * 1000);
}
