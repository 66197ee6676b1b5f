// What was said on a call, turn by turn in order.
import type { CallTranscript } from '@parley/contracts';
import { and, asc, eq, transcriptTurns } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { findCall } from './call-row.js';

export async function getCallTranscript(ctx: OrgContext, callId: string): Promise<CallTranscript> {
  authorize(ctx, 'calls:read');
  await findCall(ctx.db, ctx.organizationId, callId);
  const rows = await ctx.db
    .select()
    .from(transcriptTurns)
    .where(and(eq(transcriptTurns.callId, callId), eq(transcriptTurns.organizationId, ctx.organizationId)))
    .orderBy(asc(transcriptTurns.seq));
  return {
    data: rows.map((r) => ({
      seq: r.seq,
      role: r.role,
      text: r.text,
      atMs: r.atMs,
      interrupted: r.interrupted,
    })),
  };
}
