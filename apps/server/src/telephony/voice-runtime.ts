// The part of the server that carries calls: one per process, many calls on one event loop. It
// registers itself and heartbeats so that calls it was carrying when it died are closed by the next
// sweep (its own at start-up, or another runtime's), runs each claimed call as a CallSession with the
// process's shared Silero model, and writes the call's events, transcript and recording as they happen.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import {
  assistantOverridesOf,
  CallJournal,
  findCallCarrier,
  heartbeatRuntime,
  registerRuntime,
  resolveCallTools,
  resolveCredentialSecret,
  saveLead,
  sweepLostCalls,
  sweepUnansweredCalls,
  unregisterRuntime,
  type ClaimedCall,
  type ServiceDeps,
} from '@parley/services';
import type { CallTransport } from '@parley/voice';
import type { LiveCallControlCommand } from '@parley/contracts';
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
import { controlLiveCall } from '../live/control-live-call.js';
import type { LiveEventLog } from '../live/live-event-log.js';
import { publishCallStatus, publishSessionEvent } from '../live/live-call-events.js';
import { publishSweptCalls } from '../live/status-change-reports.js';
import type { CallAudioRelay } from '../live/call-audio-relay.js';
import { CallListeners } from '../live/call-listeners.js';
import { UnclosedCalls } from './unclosed-calls.js';

export interface VoiceRuntimeOptions {
  deps: ServiceDeps;
  runtimeId: string;
  /** The process's call command bus: commands for this runtime's calls, from any process, arrive here. */
  commands: CallCommandBus;
  /** Supervisor listen: where the audio of calls someone listens to is published; none, no listening. */
  audio?: CallAudioRelay;
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
  /** The process's live event log: each call's session events and status changes, for live clients. */
  liveEvents?: LiveEventLog;
  /** Shown in the runtime list: the process's role (`all` or `runtime`) and Parley version. */
  role?: string;
  version?: string;
  /**
   * PARLEY_RUNTIME_URL as a WebSocket URL: where carriers reach this process's media sockets, so that
   * other processes can send new calls here. Null (default): the public URL.
   */
  mediaUrl?: string | null;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_STALE_AFTER_MS = 30_000;
/** Control commands kept for a call still being set up; more are ignored (and logged so). */
const MAX_HELD_COMMANDS = 10;

export class VoiceRuntime {
  /** The calls this process carries, by call id: each one's session, media leg and voicemail plan. */
  private readonly calls = new Map<string, LiveCall>();
  /**
   * Control commands for calls claimed here whose session is still being set up (the record says in
   * progress before the session exists), in arrival order: carried out once it starts, dropped if it
   * never does. Like CallListeners' waiting listeners.
   */
  private readonly settingUp = new Map<string, LiveCallControlCommand[]>();
  private readonly running = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private closing = false;
  private stopListening: Unsubscribe | null = null;
  /** What the last heartbeat said of a drain (logged once per change). */
  private drain: 'none' | 'draining' | 'drained' = 'none';
  private readonly listeners: CallListeners | null;
  /** Calls over whose record could not be closed yet: retried at every heartbeat. */
  private readonly unclosed: UnclosedCalls;

  private constructor(private readonly options: VoiceRuntimeOptions) {
    this.unclosed = new UnclosedCalls(options.logger);
    this.listeners = options.audio
      ? new CallListeners({ relay: options.audio, logger: options.logger })
      : null;
  }

  static async start(options: VoiceRuntimeOptions): Promise<VoiceRuntime> {
    const runtime = new VoiceRuntime(options);
    await mkdir(options.recordingsDir, { recursive: true });
    // Listening before registering: once other processes can see this runtime, their commands arrive.
    const { commands, runtimeId, logger } = options;
    runtime.stopListening = await listenForCallCommands(commands, runtimeId, runtime, logger);
    await runtime.register();
    await runtime.sweep();
    const interval = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
    runtime.timer = setInterval(() => void runtime.tick(), interval);
    runtime.timer.unref();
    return runtime;
  }

  /** Where carriers reach this runtime's media sockets; null: the public URL. */
  get mediaUrl(): string | null {
    return this.options.mediaUrl ?? null;
  }

  get runtimeId(): string {
    return this.options.runtimeId;
  }

  /** Where this process reports live events (carrier routes add the status changes they make). */
  get liveEvents(): LiveEventLog | null {
    return this.options.liveEvents ?? null;
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** The operator's allow-list for customer URLs; the carrier routes ask inbound hooks with it. */
  get allowedHosts(): readonly string[] {
    return this.options.allowedHosts ?? [];
  }

  /** Runs a call whose media a carrier has connected; resolves once it has ended and been written. */
  runCall(claimed: ClaimedCall, transport: CallTransport): Promise<void> {
    const run = this.carry(claimed, transport).catch((error: unknown) => {
      this.listeners?.callNotStarted(claimed.call.id);
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

  /** Supervisor listen: taps `callId` for `listenerId` (or renews its lease); see CallListeners. */
  listenToCall(callId: string, listenerId: string): void {
    this.listeners?.listen(callId, listenerId, this.calls.get(callId)?.session);
  }

  stopListeningToCall(callId: string, listenerId: string): void {
    this.listeners?.stop(callId, listenerId);
  }

  /**
   * A supervisor's call control (see controlLiveCall); false when this process is not carrying the
   * call. The command's text never reaches the log.
   */
  controlCall(command: LiveCallControlCommand): boolean {
    const live = this.calls.get(command.callId);
    if (!live) {
      const held = this.settingUp.get(command.callId);
      if (!held || held.length >= MAX_HELD_COMMANDS) return false;
      held.push(command);
      this.options.logger.info(
        { callId: command.callId, commandType: command.type },
        'call control held until the call starts',
      );
      return true;
    }
    controlLiveCall(live, command);
    this.options.logger.info({ callId: command.callId, commandType: command.type }, 'call control');
    return true;
  }

  /** Ends every call (the callers hear nothing more) and waits for their records to be written. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.stopListening?.();
    for (const { session } of this.calls.values()) void session.hangUp('server_shutdown');
    await Promise.allSettled([...this.running]);
    // One last try for records the database refused earlier; what still fails is left to the sweep of
    // the other runtimes (this one leaves the registry).
    await this.unclosed.retry();
    // Stopped cleanly with its calls written: nothing left for the sweep, so it leaves the list.
    await unregisterRuntime(this.options.deps.db, this.options.runtimeId).catch((error: unknown) => {
      this.options.logger.warn({ error: describeError(error) }, 'could not unregister the runtime');
    });
  }

  private async carry(claimed: ClaimedCall, transport: CallTransport): Promise<void> {
    const { call } = claimed;
    this.settingUp.set(call.id, []);
    try {
      await this.carryClaimed(claimed, transport);
    } finally {
      // Commands held for a call that never started are dropped: its timeline says setup failed.
      this.settingUp.delete(call.id);
    }
  }

  private async carryClaimed(claimed: ClaimedCall, transport: CallTransport): Promise<void> {
    const { call } = claimed;
    // Supervisors asking to listen from now on wait for the session rather than hear it is over.
    this.listeners?.callSettingUp(call.id);
    const log = this.options.logger.child({ callId: call.id, organizationId: call.organizationId });
    const journal = new CallJournal(
      this.options.deps.db,
      { id: call.id, organizationId: call.organizationId },
      {
        onWriteError: (error) =>
          log.warn({ error: describeError(error) }, 'call events not written yet; retrying'),
      },
    );
    // Claimed: the call is in progress on this runtime, before any of its session's events.
    if (this.options.liveEvents) {
      publishCallStatus(this.options.liveEvents, call, {
        status: call.status,
        at: call.answeredAt ?? undefined,
      });
    }
    if (this.closing) {
      this.listeners?.callNotStarted(call.id);
      await transport.hangUp('server_shutdown');
      await this.closeRecord(journal, call, {
        status: 'failed',
        endReason: 'server_shutdown',
        endedAt: this.now(),
      });
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
      ...(this.options.liveEvents
        ? { onEvent: publishSessionEvent.bind(null, this.options.liveEvents, call) }
        : {}),
      saveLead: async ({ toolId, fields }) => {
        const lead = { organizationId: call.organizationId, callId: call.id, agentId: call.agentId, toolId };
        await saveLead(this.options.deps.db, { ...lead, fields }, this.now());
      },
    });
    // Anything that stops the call before it starts ends it as failed with the reason, never left
    // in progress.
    if (!assembly.ok) {
      this.listeners?.callNotStarted(call.id);
      const { reason, error } = assembly;
      log.warn(
        { reason, error: error instanceof SessionSetupError ? undefined : describeError(error) },
        'call could not be set up',
      );
      journal.record({ seq: 1, atMs: 0, type: 'error', code: 'setup_failed', message: reason, fatal: true });
      await transport.hangUp('setup_failed');
      await this.closeRecord(journal, call, {
        status: 'failed',
        endReason: 'setup_failed',
        endedAt: this.now(),
      });
      return;
    }
    const live = assembly.call;
    this.calls.set(call.id, live);
    // A supervisor who asked to listen while the call was being set up hears it from now on.
    this.listeners?.callStarted(call.id, live.session);
    log.info({ direction: call.direction, transport: call.transport }, 'call started');
    try {
      live.session.start();
      // Commands that arrived while the call was being set up, in order.
      const held = this.settingUp.get(call.id) ?? [];
      this.settingUp.delete(call.id);
      for (const command of held) this.controlCall(command);
      const outcome = await live.session.ended;
      await this.closeRecord(journal, call, await live.closingRecord(outcome, this.now()));
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
        overrides: assistantOverridesOf(call.metadata),
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
      const beat = await heartbeatRuntime(
        this.options.deps.db,
        this.options.runtimeId,
        this.now(),
        this.calls.size,
      );
      // Swept while stalled: registering again keeps its calls from being taken for a lost runtime's.
      if (beat) this.noteDrain(beat.draining);
      else if (!this.closing) await this.register();
      await this.unclosed.retry();
      await this.sweep();
    } catch (error) {
      this.options.logger.warn({ error: describeError(error) }, 'runtime heartbeat failed');
    }
  }

  private async register(): Promise<void> {
    await registerRuntime(this.options.deps.db, this.options.runtimeId, this.now(), {
      role: this.options.role ?? 'all',
      version: this.options.version ?? '',
      host: hostname(),
      mediaUrl: this.options.mediaUrl ?? null,
    });
  }

  /**
   * A drain is set on the registry by any process; the runtime learns it here and says so once when it
   * begins, once when its last call has ended ("runtime drained": safe to stop), and once if resumed.
   */
  private noteDrain(draining: boolean): void {
    const { logger } = this.options;
    const activeCalls = this.calls.size;
    if (draining && this.drain === 'none') {
      this.drain = 'draining';
      logger.info({ activeCalls }, 'runtime draining: no new calls, finishing the current ones');
    }
    if (draining && this.drain === 'draining' && activeCalls === 0) {
      this.drain = 'drained';
      logger.info('runtime drained');
    }
    if (!draining && this.drain !== 'none') {
      this.drain = 'none';
      logger.info('runtime resumed: taking new calls');
    }
  }

  private async sweep(): Promise<void> {
    const closed = await sweepLostCalls(this.options.deps.db, {
      now: this.now(),
      staleAfterMs: this.options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    });
    if (closed.length > 0) this.options.logger.warn({ callIds: closed }, 'closed calls of a lost runtime');
    await this.reportSwept(closed);
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
      await this.reportSwept([...dialLost, ...noStatusFromCarrier]);
    }
  }

  private async reportSwept(callIds: readonly string[]): Promise<void> {
    if (!this.options.liveEvents || callIds.length === 0) return;
    await publishSweptCalls(this.options.liveEvents, this.options.deps.db, callIds, this.options.logger);
  }

  /** Closes the call's record, then tells live clients how it ended. */
  private async closeRecord(
    journal: CallJournal,
    call: ClaimedCall['call'],
    outcome: Parameters<CallJournal['close']>[0],
  ): Promise<void> {
    // Held for retry when the database refuses it, and reported live once it is written.
    await this.unclosed.close(call.id, async () => {
      await journal.close(outcome);
      if (!this.options.liveEvents) return;
      const { status, endReason, endedAt } = outcome;
      publishCallStatus(this.options.liveEvents, call, {
        status,
        previousStatus: call.status,
        endReason,
        at: endedAt,
      });
    });
  }

  private now(): Date {
    return nowOf(this.options.deps);
  }
}
