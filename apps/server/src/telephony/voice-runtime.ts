// The part of the server that carries calls: one per process, many calls on one event loop. It
// registers itself and heartbeats so that calls it was carrying when it died are closed by the next
// sweep (its own at start-up, or another runtime's), runs each claimed call as a CallSession with the
// process's shared Silero model, and writes the call's events, transcript and recording as they happen.
import { mkdir } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import {
  CallJournal,
  findCallCarrier,
  heartbeatRuntime,
  registerRuntime,
  resolveCallTools,
  resolveCredentialSecret,
  saveLead,
  sweepLostCalls,
  sweepUnansweredCalls,
  type ClaimedCall,
  type ServiceDeps,
} from '@parley/services';
import type { CallTransport } from '@parley/voice';
import type { CarrierCallControl } from '@parley/telephony';
import { describeError } from '../logger.js';
import { assembleCall, leaveMessage, type LiveCall } from './assemble-call.js';
import type { LiveCallControl } from './call-actions.js';
import { resumableCallControl, type ResumableCallLeg } from './resumable-call-leg.js';
import { nowOf, systemOrgContext } from './telephony-env.js';
import { buildSessionSetup, SessionSetupError, type SessionSetup } from './session-config.js';
import { preCallVariables } from './pre-call-variables.js';
import { simulatedSessionInputs } from './simulation.js';
import type { CallCommandBus, Unsubscribe } from '../live/call-command-bus.js';
import { listenForCallCommands } from '../live/runtime-commands.js';

export interface VoiceRuntimeOptions {
  deps: ServiceDeps;
  runtimeId: string;
  /** The process's call command bus: commands for this runtime's calls, from any process, arrive here. */
  commands: CallCommandBus;
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
  /**
   * Operator setting: host names that customer URLs (pre-call context, webhook tools, MCP servers)
   * may reach whatever they resolve to, private addresses included. None unless given.
   */
  allowedHosts?: readonly string[];
}

const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_STALE_AFTER_MS = 30_000;

export class VoiceRuntime {
  /** The calls this process carries, by call id: each one's session, media leg and voicemail plan. */
  private readonly calls = new Map<string, LiveCall>();
  private readonly running = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private closing = false;
  private stopListening: Unsubscribe | null = null;

  private constructor(private readonly options: VoiceRuntimeOptions) {}

  static async start(options: VoiceRuntimeOptions): Promise<VoiceRuntime> {
    const runtime = new VoiceRuntime(options);
    await mkdir(options.recordingsDir, { recursive: true });
    // Listening before registering: once other processes can see this runtime, their commands arrive.
    const { commands, runtimeId, logger } = options;
    runtime.stopListening = await listenForCallCommands(commands, runtimeId, runtime, logger);
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
    return this.calls.size;
  }

  /** Runs a call whose media a carrier has connected; resolves once it has ended and been written. */
  runCall(claimed: ClaimedCall, transport: CallTransport): Promise<void> {
    const run = this.carry(claimed, transport).catch((error: unknown) => {
      this.options.logger.error(
        { error: describeError(error), callId: claimed.call.id },
        'call failed in the runtime',
      );
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  /** Whether this process is carrying `callId` (a media socket for it can only be a resumed stream). */
  isCarrying(callId: string): boolean {
    return this.calls.has(callId);
  }

  /**
   * A new media stream for a call this process carries, after the carrier replaced the old one (its
   * token was checked by resumeCallMedia): the session goes on over it. False when the call is not
   * expecting one (it has ended, say): the caller closes the socket.
   */
  resumeCall(callId: string, transport: CallTransport): boolean {
    return this.calls.get(callId)?.stream.resume(transport) ?? false;
  }

  /** The carrier reports `callId` over (a final status): a stream replacement it awaited will not come. */
  carrierEnded(callId: string): void {
    this.calls.get(callId)?.stream.carrierEnded();
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
    const live = this.calls.get(callId);
    if (!live) return false;
    const { session, voicemail } = live;
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
    await this.stopListening?.();
    for (const { session } of this.calls.values()) void session.hangUp('server_shutdown');
    await Promise.allSettled([...this.running]);
  }

  private async carry(claimed: ClaimedCall, transport: CallTransport): Promise<void> {
    const { call } = claimed;
    const log = this.options.logger.child({ callId: call.id, organizationId: call.organizationId });
    const journal = new CallJournal(
      this.options.deps.db,
      { id: call.id, organizationId: call.organizationId },
      {
        onWriteError: (error) =>
          log.warn({ error: describeError(error) }, 'call events not written yet; retrying'),
      },
    );
    if (this.closing) {
      await transport.hangUp('server_shutdown');
      await journal.close({ status: 'failed', endReason: 'server_shutdown', endedAt: this.now() });
      return;
    }

    const assembly = await assembleCall({
      callId: call.id,
      transport,
      journal,
      log,
      recordingsDir: this.options.recordingsDir,
      setUp: () => this.setUp(claimed, journal),
      liveControl: (stream) => this.liveControlOf(call, log, stream),
      toolOutbound: { allowedHosts: this.options.allowedHosts ?? [] },
      saveLead: async ({ toolId, fields }) => {
        const lead = { organizationId: call.organizationId, callId: call.id, agentId: call.agentId, toolId };
        await saveLead(this.options.deps.db, { ...lead, fields }, this.now());
      },
    });
    // Anything that stops the call before it starts ends it as failed with the reason, never left
    // in progress.
    if (!assembly.ok) {
      const { reason, error } = assembly;
      log.warn(
        { reason, error: error instanceof SessionSetupError ? undefined : describeError(error) },
        'call could not be set up',
      );
      journal.record({ seq: 1, atMs: 0, type: 'error', code: 'setup_failed', message: reason, fatal: true });
      await transport.hangUp('setup_failed');
      await journal.close({ status: 'failed', endReason: 'setup_failed', endedAt: this.now() });
      return;
    }
    const live = assembly.call;
    this.calls.set(call.id, live);
    log.info({ direction: call.direction, transport: call.transport }, 'call started');
    try {
      live.session.start();
      const outcome = await live.session.ended;
      await journal.close(await live.closingRecord(outcome, this.now()));
      log.info({ endReason: outcome.reason, durationMs: outcome.durationMs }, 'call ended');
    } finally {
      live.voicemail.greetingWatch?.cancel();
      this.calls.delete(call.id);
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
      log.warn(
        { error: describeError(error) },
        'no call control for this call: transfers and keypad tones are off',
      );
      return null;
    }
  }

  private async setUp(claimed: ClaimedCall, journal: CallJournal): Promise<SessionSetup> {
    const { call } = claimed;
    const org = await systemOrgContext(this.options.deps, call.organizationId);
    const direction = call.direction;
    // `parley call simulate`: the call runs on the operator's simulators, never the agent's keys.
    const simulated = call.simulation ? simulatedSessionInputs(claimed.agentConfig, call.simulation) : null;
    // Simulated calls ask the pre-call hook too, with the organization's credential: that is how an
    // agent is tried.
    const variables = await preCallVariables({
      call,
      agentConfig: claimed.agentConfig,
      credentials: (credentialId) => resolveCredentialSecret(org, credentialId),
      allowedHosts: this.options.allowedHosts ?? [],
      log: this.options.logger.child({ callId: call.id, organizationId: call.organizationId }),
      journal,
    });
    return buildSessionSetup(
      simulated?.versionConfig ?? claimed.agentConfig,
      {
        callId: call.id,
        direction,
        customerNumber: direction === 'outbound' ? call.toNumber : call.fromNumber,
        variables,
        now: this.now(),
        agentId: call.agentId,
      },
      simulated?.credentials ?? ((credentialId) => resolveCredentialSecret(org, credentialId)),
      simulated?.providerUrls ?? this.options.providerUrls,
      // Simulated calls run the agent's tools too, with the organization's credentials: that is how an agent is tried.
      (refs) =>
        resolveCallTools(org, refs, { allowedHosts: this.options.allowedHosts ?? [], now: this.now() }),
    );
  }

  private async tick(): Promise<void> {
    try {
      await heartbeatRuntime(this.options.deps.db, this.options.runtimeId, this.now());
      await this.sweep();
    } catch (error) {
      this.options.logger.warn({ error: describeError(error) }, 'runtime heartbeat failed');
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
