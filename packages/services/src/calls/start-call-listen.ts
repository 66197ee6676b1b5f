// Supervisor listen: may this caller hear this call live, and which runtime carries it. Listening to a
// call is as private as reading its recording (`calls:read`), and each listening session is audited:
// who listened to which call.
import type { Executor } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { findCall } from './call-row.js';

export interface CallListenTarget {
  callId: string;
  /** The runtime carrying the call: the listen request goes there. */
  runtimeId: string;
}

/** Starts a listening session: the checks of checkCallListen, and the audit row that it happened. */
export async function startCallListen(ctx: OrgContext, id: string): Promise<CallListenTarget> {
  return ctx.db.transaction(async (tx) => {
    const target = await listenTarget(tx, ctx, id);
    await auditInOrganization(tx, ctx, {
      action: 'call.listen',
      targetType: 'call',
      targetId: target.callId,
    });
    return target;
  });
}

/** Whether the caller could listen to the call now, without listening (nothing is audited). */
export function checkCallListen(ctx: OrgContext, id: string): Promise<CallListenTarget> {
  return listenTarget(ctx.db, ctx, id);
}

async function listenTarget(db: Executor, ctx: OrgContext, id: string): Promise<CallListenTarget> {
  authorize(ctx, 'calls:read');
  const row = await findCall(db, ctx.organizationId, id);
  // A runtime claims the call when its media connects; until then (and once it is over) there is no audio.
  if (row.status !== 'in_progress' || row.runtimeId === null) {
    throw new ServiceError(
      'call_not_live',
      `The call is ${row.status}; only a call in progress can be listened to`,
      { status: row.status },
    );
  }
  return { callId: row.id, runtimeId: row.runtimeId };
}
