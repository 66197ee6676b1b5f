// What a call's live events say, in the one place that knows both vocabularies: the voice session's
// own events (packages/voice, session/events.ts) become the public live event types (contracts,
// live-events.ts), and a change of the call's status becomes a `call.status` event. Events only for the
// timeline's storage (per-turn latency, the session's start and end, which `call.status` covers) are
// not sent live.
import type { CallStatus, LiveEventInput, LiveEventType } from '@parley/contracts';
import type { CallEvent } from '@parley/voice';
import type { LiveEventLog } from './live-event-log.js';

/** The call a live event is about. */
export interface LiveCallRef {
  id: string;
  organizationId: string;
  agentId: string | null;
}

/** A tool's result can be a whole document; live clients get its start (the stored timeline has it all). */
const MAX_TOOL_CONTENT_CHARS = 4_000;

/** The live type and fields of a session event; null for events that are not sent live. */
export function liveEventOf(event: CallEvent): { type: LiveEventType; data: Record<string, unknown> } | null {
  const atMs = Math.round(event.atMs);
  switch (event.type) {
    case 'user.speech.started':
      return { type: 'speech.started', data: { atMs, probability: event.probability } };
    case 'user.speech.stopped':
      return { type: 'speech.stopped', data: { atMs, speechDurationMs: event.speechDurationMs } };
    case 'transcript.interim':
      return { type: 'transcript.partial', data: { atMs, text: event.text } };
    case 'transcript.final':
      return { type: 'transcript.final', data: { atMs, text: event.text } };
    case 'user.turn':
      return { type: 'user.turn', data: { atMs, turnId: event.turnId, text: event.text } };
    case 'agent.speech.started':
      return { type: 'agent.speech.started', data: { atMs, turnId: event.turnId, source: event.source } };
    case 'agent.speech.ended':
      return { type: 'agent.speech.ended', data: { atMs, turnId: event.turnId, text: event.text } };
    case 'agent.speech.interrupted': {
      const { turnId, heardText, fullText } = event;
      return { type: 'agent.speech.interrupted', data: { atMs, turnId, heardText, fullText } };
    }
    case 'tool.called': {
      const { turnId, toolCallId, name } = event;
      return {
        type: 'tool.called',
        data: { atMs, turnId, toolCallId, name, arguments: parsedArguments(event.arguments) },
      };
    }
    case 'tool.result': {
      const { turnId, toolCallId, name, status, durationMs } = event;
      const content = event.content.slice(0, MAX_TOOL_CONTENT_CHARS);
      return {
        type: 'tool.result',
        data: { atMs, turnId, toolCallId, name, status, code: event.code ?? null, content, durationMs },
      };
    }
    case 'dtmf':
      return { type: 'dtmf', data: { atMs, digit: event.digit } };
    case 'decision':
      return {
        type: 'decision',
        data: {
          atMs,
          decision: event.decision,
          reason: event.reason,
          ...(event.data ? { data: event.data } : {}),
        },
      };
    case 'error':
      return { type: 'error', data: { atMs, code: event.code, message: event.message, fatal: event.fatal } };
    default:
      // The session's start and end (`call.status` says those), per-turn latency and the record of
      // supervisors' commands are for the stored timeline only.
      return null;
  }
}

/** Appends a session event of `call` to the log (when it is one sent live). Never throws. */
export function publishSessionEvent(log: LiveEventLog, call: LiveCallRef, event: CallEvent): void {
  const live = liveEventOf(event);
  if (!live) return;
  log.append(call.organizationId, { ...live, ...callFields(call), occurredAt: new Date().toISOString() });
}

/** Appends `call`'s new status (and why it ended, once it has). */
export function publishCallStatus(
  log: LiveEventLog,
  call: LiveCallRef,
  change: { status: string; previousStatus?: string | null; endReason?: string | null; at?: Date },
): void {
  const event: LiveEventInput = {
    type: 'call.status',
    ...callFields(call),
    occurredAt: (change.at ?? new Date()).toISOString(),
    data: {
      status: change.status as CallStatus,
      previousStatus: (change.previousStatus ?? null) as CallStatus | null,
      endReason: change.endReason ?? null,
    },
  };
  log.append(call.organizationId, event);
}

const callFields = (call: LiveCallRef) => ({ callId: call.id, agentId: call.agentId });

/** The model's arguments are JSON text; live clients get the object when it parses. */
function parsedArguments(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** A status an API verb answered with (a call placed, a call canceled): its record says it all. */
export function publishApiCallStatus(
  log: LiveEventLog,
  organizationId: string,
  call: { id: string; agentId: string | null; status: string; endReason: string | null },
): void {
  const { status, endReason } = call;
  publishCallStatus(log, { id: call.id, organizationId, agentId: call.agentId }, { status, endReason });
}
