// Live `call.status` events for status changes made by verbs that do not hand back the changed call:
// the sweeps (only ids) and a carrier's callback (the call's id and new status). The call is read back
// once; a report that cannot be made is logged and dropped, never thrown into the sweep or the route.
import type { FastifyBaseLogger } from 'fastify';
import {
  applyCarrierStatus,
  callStatusSnapshots,
  nowOf,
  refuseCallWithoutRuntime,
  ServiceError,
  type CallStatusSnapshot,
  type CarrierStatus,
  type ServiceDeps,
} from '@parley/services';
import { describeError } from '../logger.js';
import type { TelephonyEnv } from '../telephony/telephony-env.js';
import type { LiveEventLog } from './live-event-log.js';
import { publishCallStatus, type LiveCallRef } from './live-call-events.js';

/** Calls a sweep has just closed (failed, with the sweep's end reason). */
export async function publishSweptCalls(
  log: LiveEventLog,
  db: ServiceDeps['db'],
  callIds: readonly string[],
  logger: FastifyBaseLogger,
): Promise<void> {
  await report(logger, async () => {
    for (const call of await callStatusSnapshots(db, callIds)) publish(log, call);
  });
}

/**
 * A call `POST /calls` recorded but could not dial: the error it answers with names the call (its
 * `details.callId`), which has just been closed as failed with the reason.
 */
export async function publishFailedDial(
  log: LiveEventLog,
  db: ServiceDeps['db'],
  error: unknown,
  logger: FastifyBaseLogger,
): Promise<void> {
  const details = error instanceof ServiceError ? error.details : undefined;
  const callId =
    typeof details === 'object' && details !== null && 'callId' in details ? details.callId : undefined;
  if (typeof callId === 'string') await publishSweptCalls(log, db, [callId], logger);
}

/**
 * What a carrier's status callback (applied at `appliedAt`) changed. The runtime carrying a call says
 * itself when it is in progress and how it ended; the callback's own changes are those of calls no
 * runtime carries: ringing, and a final status the carrier set (busy, no answer, canceled, …).
 */
export async function publishCarrierStatus(
  log: LiveEventLog | null | undefined,
  db: ServiceDeps['db'],
  applied: { callId: string } | null,
  appliedAt: Date,
  logger: FastifyBaseLogger,
): Promise<void> {
  if (!log || !applied) return;
  await report(logger, async () => {
    const [call] = await callStatusSnapshots(db, [applied.callId]);
    if (!call || call.updatedAt.getTime() !== appliedAt.getTime()) return;
    const endedNow = call.endedAt?.getTime() === appliedAt.getTime();
    if (call.status === 'ringing' || endedNow) publish(log, call);
  });
}

function publish(log: LiveEventLog, call: CallStatusSnapshot): void {
  const { status, endReason } = call;
  publishCallStatus(log, { ...call }, { status, endReason, at: call.endedAt ?? call.updatedAt });
}

async function report(logger: FastifyBaseLogger, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    logger.warn({ error: describeError(error) }, 'live call status not reported');
  }
}

/** A carrier's status callback applied (applyCarrierStatus), and what it changed reported live. */
export async function applyCarrierStatusReported(
  env: TelephonyEnv,
  carrier: string,
  update: CarrierStatus,
  options: { callId?: string } = {},
): ReturnType<typeof applyCarrierStatus> {
  const now = nowOf(env.deps);
  const applied = await applyCarrierStatus(env.deps.db, carrier, update, now, options);
  await publishCarrierStatus(env.runtime.liveEvents, env.deps.db, applied, now, env.logger);
  return applied;
}

/** An inbound call has just been recorded: it is ringing until a runtime takes its media. */
export function reportCallRinging(env: TelephonyEnv, call: LiveCallRef): void {
  const log = env.runtime.liveEvents;
  if (log) publishCallStatus(log, call, { status: 'ringing' });
}

/** A new call no runtime can carry, ended as failed (refuseCallWithoutRuntime) and reported live. */
export async function refuseCallReported(env: TelephonyEnv, callId: string): Promise<void> {
  await refuseCallWithoutRuntime(env.deps.db, callId, nowOf(env.deps));
  const log = env.runtime.liveEvents;
  if (log) await publishSweptCalls(log, env.deps.db, [callId], env.logger);
}

/**
 * An inbound call just recorded: it rings (reported live) when a runtime can take it, or is refused
 * at once (ended as no_runtime_available and reported), in which case it never rang for anyone.
 */
export async function ringOrRefuseInbound(
  env: TelephonyEnv,
  call: LiveCallRef,
  runtimeAvailable: boolean,
  log: FastifyBaseLogger,
): Promise<'ringing' | 'refused'> {
  if (runtimeAvailable) {
    reportCallRinging(env, call);
    return 'ringing';
  }
  await refuseCallReported(env, call.id);
  log.warn(
    { callId: call.id, organizationId: call.organizationId },
    'inbound call refused: no runtime takes calls',
  );
  return 'refused';
}
