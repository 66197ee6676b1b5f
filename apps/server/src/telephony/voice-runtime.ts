// The part of the server that carries calls: one per process, many calls on one event loop. It
// registers itself and heartbeats so that calls it was carrying when it died are closed by the next
// sweep (its own at start-up, or another runtime's), runs each claimed call as a CallSession with the
// process's shared Silero model, and writes the call's events, transcript and recording as they happen.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import {
  CallJournal,
  findCallCarrier,
  heartbeatRuntime,
  registerRuntime,
  resolveCredentialSecret,
  sweepLostCalls,
  sweepUnansweredCalls,
  type ClaimedCall,
  type ServiceDeps,
} from '@parley/services';
import {
  CallSession,
  openWavFile,
  SileroVadModel,
  systemClock,
  type CallEvent,
  type CallTransport,
  type TurnLatency,
  WAV_HEADER_BYTES,
} from '@parley/voice';
import { TelephonyError, type CarrierCallControl } from '@parley/telephony';
import { CallActionsLeg, CallActionTools, type LegEnding, type LiveCallControl } from './call-actions.js';
import { GreetingEndWatch } from './greeting-end-watch.js';
import { ResumableCallLeg, resumableCallControl } from './resumable-call-leg.js';
import { nowOf, systemOrgContext } from './telephony-env.js';
import { buildSessionSetup, SessionSetupError, type SessionSetup } from './session-config.js';
import { simulatedSessionInputs } from './simulation.js';
import type { VoicemailPlan } from './session-config.js';

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
  /** The carriers' call control, for the agent's transfers and keypad tones during a call. */
  callControl?: {
    callControlFor(call: {
      carrier: string;
      organizationId: string;
      credentialId: string;
      callId: string;
      /** The carrier is about to replace the call's media stream (Twilio's keypad tones). */
      onStreamReplacing: () => void;
    }): Promise<CarrierCallControl>;
  };
  /** A queued call never handed to its carrier this long is closed as dial_lost (default 2 min). */
  dialLostAfterMs?: number;
  /**
   * A ringing call the carrier has said nothing about for this long is closed as
   * no_status_from_carrier (default 3 min).
   */
  ringLostAfterMs?: number;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_STALE_AFTER_MS = 30_000;

export class VoiceRuntime {
  private readonly sessions = new Map<string, CallSession>();
  /** Each carried call's media leg, which a reconnected stream of the call takes over. */
  private readonly streams = new Map<string, ResumableCallLeg>();
  /** Each carried call's voicemail plan, and whether a machine answered it (see answeredByMachine). */
  private readonly voicemails = new Map<string, VoicemailState>();
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

  /** Whether this process is carrying `callId` (a media socket for it can only be a resumed stream). */
  isCarrying(callId: string): boolean {
    return this.streams.has(callId);
  }

  /**
   * A new media stream for a call this process carries, after the carrier replaced the old one (its
   * token was checked by resumeCallMedia): the session goes on over it. False when the call is not
   * expecting one (it has ended, say): the caller closes the socket.
   */
  resumeCall(callId: string, transport: CallTransport): boolean {
    return this.streams.get(callId)?.resume(transport) ?? false;
  }

  /** The carrier reports `callId` over (a final status): a stream replacement it awaited will not come. */
  carrierEnded(callId: string): void {
    this.streams.get(callId)?.carrierEnded();
  }

  /**
   * The carrier's answering-machine detection says a machine answered `callId`. When this process
   * carries the call, it will end as `voicemail`: with the `hang_up` action it ends at once; with
   * `leave_message`, once the machine's greeting has ended (its beep), the agent stops whatever it was
   * saying, says the message, and hangs up once it has been heard. Before the greeting ends nothing
   * happens but the marking, so the message is not spoken over the greeting. A carrier that never
   * reports the greeting's end (`'unknown'`) leaves it to the call's own ears (GreetingEndWatch).
   * Returns false when this process is not carrying the call (the verdict is then only on its record).
   */
  answeredByMachine(callId: string, verdict: { greetingEnded: boolean | 'unknown' }): boolean {
    const session = this.sessions.get(callId);
    const voicemail = this.voicemails.get(callId);
    if (!session || !voicemail) return false;
    voicemail.machine = true;
    if (voicemail.acted) return true;
    if (voicemail.action === 'hang_up') {
      voicemail.acted = true;
      void session.hangUp('voicemail');
    } else if (verdict.greetingEnded === true) {
      leaveMessage(session, voicemail);
    } else if (verdict.greetingEnded === 'unknown') {
      voicemail.greetingWatch?.start();
    }
    this.options.logger.info(
      { callId, action: voicemail.action, greetingEnded: verdict.greetingEnded },
      'answered by a machine',
    );
    return true;
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
    let recording: Awaited<ReturnType<typeof openWavFile>> | null = null;
    let vad: SileroVadModel;
    try {
      setup = await this.setUp(claimed);
      vad = await SileroVadModel.shared();
      recordingPath = setup.recordingEnabled ? path.join(this.options.recordingsDir, `${call.id}.wav`) : null;
      recording = recordingPath
        ? await openWavFile(recordingPath, { sampleRateHz: transport.inputFormat.sampleRateHz, channels: 2 })
        : null;
      if (recordingPath) await journal.recordingStarted(recordingPath);
    } catch (error) {
      // A recording opened before the failure is closed (what it holds is kept; nothing more comes).
      await recording?.close().catch(() => {});
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
    const voicemail: VoicemailState = {
      ...setup.voicemail,
      machine: false,
      acted: false,
      greetingWatch: null,
    };
    if (voicemail.action === 'leave_message') {
      voicemail.greetingWatch = new GreetingEndWatch({
        clock: systemClock,
        onEnded: ({ cause, waitedMs }) => {
          log.info({ cause, waitedMs: Math.round(waitedMs) }, 'machine greeting over: leaving the message');
          leaveMessage(session, voicemail);
        },
      });
    }
    const stream = new ResumableCallLeg(transport, {
      onResumeFailed: () => log.warn('the media stream did not come back after keypad tones: call failed'),
      onCarrierHangUpFailed: (error) =>
        log.warn(
          { code: error instanceof TelephonyError ? error.code : 'internal' },
          'carrier hang-up failed',
        ),
    });
    const control = await this.liveControlOf(call, log, stream);
    const actions = new CallActionTools(setup.callActions, control);
    const leg = new CallActionsLeg(stream, actions, control, (error) =>
      // The carrier's message may name the destination; its code is enough to act on.
      log.warn({ code: error instanceof TelephonyError ? error.code : 'internal' }, 'transfer failed'),
    );
    const session = new CallSession({
      callId: call.id,
      transport: leg,
      tools: actions,
      agent: setup.agent,
      stt: setup.stt,
      llm: setup.llm,
      tts: setup.tts,
      vad: vad.createStream(transport.inputFormat.sampleRateHz === 16000 ? 16000 : 8000),
      recording,
      onEvent: (event: CallEvent) => {
        if (event.type === 'turn.latency') latencies.push(event.latency);
        voicemail.greetingWatch?.onEvent(event);
        journal.record(event);
      },
    });
    this.sessions.set(call.id, session);
    this.streams.set(call.id, stream);
    this.voicemails.set(call.id, voicemail);
    log.info({ direction: call.direction, transport: call.transport }, 'call started');
    try {
      session.start();
      const outcome = await session.ended;
      await journal.close({
        status: stream.resumeFailed
          ? 'failed'
          : this.voicemails.get(call.id)?.machine
            ? 'voicemail'
            : 'completed',
        endReason: endReasonOf(outcome.reason, leg.ending),
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
      voicemail.greetingWatch?.cancel();
      this.sessions.delete(call.id);
      this.streams.delete(call.id);
      this.voicemails.delete(call.id);
    }
  }

  /**
   * The call's carrier control bound to this call, for the agent's transfers and keypad tones; null
   * when the call has no carrier leg to act on (or the runtime has no call control), in which case the
   * agent is simply not offered those actions.
   */
  private async liveControlOf(
    call: ClaimedCall['call'],
    log: FastifyBaseLogger,
    stream: ResumableCallLeg,
  ): Promise<LiveCallControl | null> {
    const source = this.options.callControl;
    if (!source || !call.carrierCallId) return null;
    try {
      const carrier = await findCallCarrier(this.options.deps.db, { callId: call.id });
      if (!carrier?.credentialId) return null;
      const control = await source.callControlFor({
        carrier: carrier.carrier,
        organizationId: carrier.organizationId,
        credentialId: carrier.credentialId,
        callId: call.id,
        onStreamReplacing: () => stream.expectResume(),
      });
      return resumableCallControl(control, call.carrierCallId, stream);
    } catch (error) {
      log.warn({ err: error }, 'no call control for this call: transfers and keypad tones are off');
      return null;
    }
  }

  private async setUp(claimed: ClaimedCall): Promise<SessionSetup> {
    const { call } = claimed;
    const org = await systemOrgContext(this.options.deps, call.organizationId);
    const direction = call.direction;
    // `parley call simulate`: the call runs on the operator's simulators, never the agent's keys.
    const simulated = call.simulation ? simulatedSessionInputs(claimed.agentConfig, call.simulation) : null;
    return buildSessionSetup(
      simulated?.versionConfig ?? claimed.agentConfig,
      {
        callId: call.id,
        direction,
        customerNumber: direction === 'outbound' ? call.toNumber : call.fromNumber,
        variables: call.variables,
        now: this.now(),
      },
      simulated?.credentials ?? ((credentialId) => resolveCredentialSecret(org, credentialId)),
      simulated?.providerUrls ?? this.options.providerUrls,
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
    // Calls that never got past ringing hold a line of their organization until closed.
    const { dialLost, noStatusFromCarrier } = await sweepUnansweredCalls(this.options.deps.db, {
      now: this.now(),
      dialLostAfterMs: this.options.dialLostAfterMs,
      ringLostAfterMs: this.options.ringLostAfterMs,
    });
    if (dialLost.length + noStatusFromCarrier.length > 0) {
      this.options.logger.warn(
        {
          dialLost: dialLost.length,
          noStatusFromCarrier: noStatusFromCarrier.length,
          callIds: [...dialLost, ...noStatusFromCarrier],
        },
        'closed calls that never got past ringing',
      );
    }
  }

  private now(): Date {
    return nowOf(this.options.deps);
  }
}

interface VoicemailState extends VoicemailPlan {
  /** The carrier said a machine answered: the call ends as voicemail. */
  machine: boolean;
  /** The plan has been carried out (hung up, or the message is being said). */
  acted: boolean;
  /** With `leave_message`: listens for the greeting's end when the carrier does not report it. */
  greetingWatch: GreetingEndWatch | null;
}

/** The agent stops whatever it was saying, says the message, and hangs up once it has been heard. */
function leaveMessage(session: CallSession, voicemail: VoicemailState): void {
  if (voicemail.acted) return;
  voicemail.acted = true;
  voicemail.greetingWatch?.cancel();
  session.say(voicemail.message, { interrupt: true, hangUpAfter: true, endReason: 'voicemail' });
}

/** The session's reason, unless the agent's hang-up handed the caller over (or tried to). */
function endReasonOf(sessionReason: string, ending: LegEnding | null): string {
  if (ending?.kind === 'transferred') return 'transferred';
  if (ending?.kind === 'transfer_failed') return 'transfer_failed';
  return sessionReason;
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
