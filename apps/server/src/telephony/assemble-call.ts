// Builds one claimed call from its parts: the agent's session setup (providers holding the
// organization's keys), the shared Silero model, the recording, the resumable media leg, the agent's
// call actions on the carrier's control and the voicemail plan with its greeting watch. VoiceRuntime
// keeps the live calls and their lifecycle; this module only puts a call together and, once the
// session has ended, says how its record closes.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { CallJournal, CallOutcome as CallRecordOutcome, OutboundOptions } from '@parley/services';
import {
  CallSession,
  openWavFile,
  SileroVadModel,
  systemClock,
  type CallEvent,
  type CallOutcome,
  type CallTransport,
  type TurnLatency,
  WAV_HEADER_BYTES,
} from '@parley/voice';
import { TelephonyError } from '@parley/telephony';
import { AgentTools, type CapturedLead } from './agent-tools.js';
import { CallActionsLeg, CallActionTools, type LegEnding, type LiveCallControl } from './call-actions.js';
import { CombinedTools } from './combined-tools.js';
import { GreetingEndWatch } from './greeting-end-watch.js';
import { ResumableCallLeg } from './resumable-call-leg.js';
import { SessionSetupError, type SessionSetup, type VoicemailPlan } from './session-config.js';

/** The parts of a carried call that outlive its assembly, kept together so they end together. */
export interface LiveCall {
  readonly session: CallSession;
  /** The call's media leg, which a reconnected stream of the call takes over. */
  readonly stream: ResumableCallLeg;
  /** The voicemail plan, and whether a machine answered (see VoiceRuntime.answeredByMachine). */
  readonly voicemail: VoicemailState;
  /** The call actions on the carrier's control: a supervisor's transfer is arranged through them. */
  readonly actions: CallActionTools;
}

export interface VoicemailState extends VoicemailPlan {
  /** The carrier said a machine answered: the call ends as voicemail. */
  machine: boolean;
  /** The plan has been carried out (hung up, or the message is being said). */
  acted: boolean;
  /** With `leave_message`: listens for the greeting's end when the carrier does not report it. */
  greetingWatch: GreetingEndWatch | null;
}

export interface CallAssemblyInput {
  callId: string;
  /** The carrier's media connection. */
  transport: CallTransport;
  journal: CallJournal;
  /** The call's logger (its id and organization already bound). */
  log: FastifyBaseLogger;
  recordingsDir: string;
  /** The agent, providers and call actions for this call (see buildSessionSetup). */
  setUp: () => Promise<SessionSetup>;
  /**
   * The carrier's control bound to this call once its media leg exists, for the agent's transfers and
   * keypad tones; null when there is none (those actions are then not offered). Never throws.
   */
  liveControl: (stream: ResumableCallLeg) => Promise<LiveCallControl | null>;
  /** Where the agent's tools may send requests beyond the public internet (the operator's allow-list). */
  toolOutbound?: OutboundOptions;
  /** Stores what a `capture_lead` tool collected; a throw tells the model it was not saved. */
  saveLead: (lead: CapturedLead) => Promise<void>;
  /** Hears every session event as well, interim transcripts included (the live event log). */
  onEvent?: (event: CallEvent) => void;
}

export interface AssembledCall extends LiveCall {
  /** How the call's record closes once its session has ended (reads the recording's length). */
  closingRecord(outcome: CallOutcome, endedAt: Date): Promise<CallRecordOutcome>;
}

/**
 * Either the assembled call, not started yet, or why it could not be set up (a misconfigured agent,
 * an unwritable recordings directory, a VAD that cannot load); a recording opened before the failure
 * has been closed. `reason` is safe to store on the call and to log.
 */
export type CallAssembly = { ok: true; call: AssembledCall } | { ok: false; reason: string; error: unknown };

export async function assembleCall(input: CallAssemblyInput): Promise<CallAssembly> {
  const { callId, transport, journal, log } = input;
  let setup: SessionSetup;
  let recordingPath: string | null;
  let recording: Awaited<ReturnType<typeof openWavFile>> | null = null;
  let vad: SileroVadModel;
  try {
    setup = await input.setUp();
    vad = await SileroVadModel.shared();
    recordingPath = setup.recordingEnabled ? path.join(input.recordingsDir, `${callId}.wav`) : null;
    recording = recordingPath
      ? await openWavFile(recordingPath, { sampleRateHz: transport.inputFormat.sampleRateHz, channels: 2 })
      : null;
    if (recordingPath) await journal.recordingStarted(recordingPath);
  } catch (error) {
    // What the recording holds is kept; nothing more comes.
    await recording?.close().catch(() => {});
    const reason = error instanceof SessionSetupError ? error.message : 'internal error';
    return { ok: false, reason, error };
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
      log.warn({ code: error instanceof TelephonyError ? error.code : 'internal' }, 'carrier hang-up failed'),
  });
  const control = await input.liveControl(stream);
  const actions = new CallActionTools(setup.callActions, control);
  const tools = callTools(input, setup, actions);
  const leg = new CallActionsLeg(stream, actions, control, (error) =>
    // The carrier's message may name the destination; its code is enough to act on.
    log.warn({ code: error instanceof TelephonyError ? error.code : 'internal' }, 'transfer failed'),
  );
  const session = new CallSession({
    callId,
    transport: leg,
    tools,
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
      input.onEvent?.(event);
    },
  });

  const closingRecord = async (outcome: CallOutcome, endedAt: Date): Promise<CallRecordOutcome> => ({
    status: stream.resumeFailed ? 'failed' : voicemail.machine ? 'voicemail' : 'completed',
    endReason: endReasonOf(outcome.reason, leg.ending),
    endedAt,
    ...(recordingPath
      ? {
          recordingPath,
          recordingDurationMs: await wavDurationMs(recordingPath, transport.inputFormat.sampleRateHz),
        }
      : {}),
    latency: summarizeLatency(latencies),
  });
  return { ok: true, call: { session, stream, voicemail, actions, closingRecord } };
}

/**
 * The session's one executor: the call actions, then the agent's own tools. A call action wins a name
 * both offer (the tools' validation refuses those names, but an MCP server may still offer one).
 */
function callTools(input: CallAssemblyInput, setup: SessionSetup, actions: CallActionTools): CombinedTools {
  const { log } = input;
  for (const warning of setup.tools.warnings) log.warn({ warning }, 'agent tool left out');
  const agentTools = new AgentTools({
    functions: setup.tools.functions,
    variables: setup.tools.variables,
    ...(input.toolOutbound ? { outbound: input.toolOutbound } : {}),
    saveLead: input.saveLead,
    // A hand-off is a transfer: offered only when the carrier can make one, like transfer_call.
    ...(actions.canTransfer ? { handOff: (request) => actions.handOff(request) } : {}),
    log,
  });
  return new CombinedTools([actions, agentTools], (name) =>
    log.warn({ tool: name }, 'agent tool left out: a call action has the same name'),
  );
}

/** The agent stops whatever it was saying, says the message, and hangs up once it has been heard. */
export function leaveMessage(session: CallSession, voicemail: VoicemailState): void {
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
