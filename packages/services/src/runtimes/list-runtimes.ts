// The instance's voice runtimes, for operators: which processes carry calls, how loaded they are, and
// whether a drain has emptied them. A runtime carries every organization's calls, so only instance
// administrators see them.
import type { RuntimeList } from '@parley/contracts';
import { asc, runtimes } from '@parley/db';
import { nowOf, requireInstanceAdmin, type ServiceContext } from '../context.js';
import { staleAfterMsOf, toRuntime } from './runtime-view.js';

export async function listRuntimes(ctx: ServiceContext): Promise<RuntimeList> {
  requireInstanceAdmin(ctx);
  const rows = await ctx.db.select().from(runtimes).orderBy(asc(runtimes.startedAt), asc(runtimes.id));
  const now = nowOf(ctx);
  return { data: rows.map((row) => toRuntime(row, now, staleAfterMsOf(ctx))) };
}
