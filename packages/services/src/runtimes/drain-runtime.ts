// Drain: the runtime takes no new call (every process choosing a runtime for one reads this row) and
// finishes the calls it carries; it notices at its next heartbeat and reports `drained` once empty.
// Draining a draining runtime changes nothing (deploy scripts may repeat it).
import type { Runtime } from '@parley/contracts';
import { and, eq, runtimes } from '@parley/db';
import { audit } from '../audit.js';
import { nowOf, requireInstanceAdmin, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { staleAfterMsOf, toRuntime } from './runtime-view.js';

export const runtimeNotFound = () =>
  new ServiceError('runtime_not_found', 'No such runtime (it may have stopped and been forgotten)');

export async function drainRuntime(ctx: ServiceContext, runtimeId: string): Promise<Runtime> {
  requireInstanceAdmin(ctx);
  const now = nowOf(ctx);
  return ctx.db.transaction(async (tx) => {
    const [drained] = await tx
      .update(runtimes)
      .set({ draining: true, drainingSince: now })
      .where(and(eq(runtimes.id, runtimeId), eq(runtimes.draining, false)))
      .returning();
    if (drained) {
      await audit(tx, ctx, {
        organizationId: null,
        action: 'runtime.drain',
        targetType: 'runtime',
        targetId: runtimeId,
        details: { activeCalls: drained.activeCalls, host: drained.host },
      });
      return toRuntime(drained, now, staleAfterMsOf(ctx));
    }
    const [current] = await tx.select().from(runtimes).where(eq(runtimes.id, runtimeId));
    if (!current) throw runtimeNotFound();
    return toRuntime(current, now, staleAfterMsOf(ctx));
  });
}
