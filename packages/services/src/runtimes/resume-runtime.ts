// Resume: a draining runtime takes new calls again (at once: choosers read its row).
import type { Runtime } from '@parley/contracts';
import { eq, runtimes } from '@parley/db';
import { audit } from '../audit.js';
import { nowOf, requireInstanceAdmin, type ServiceContext } from '../context.js';
import { iso } from '../pagination.js';
import { runtimeNotFound } from './drain-runtime.js';
import { staleAfterMsOf, toRuntime } from './runtime-view.js';

export async function resumeRuntime(ctx: ServiceContext, runtimeId: string): Promise<Runtime> {
  requireInstanceAdmin(ctx);
  const now = nowOf(ctx);
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx.select().from(runtimes).where(eq(runtimes.id, runtimeId)).for('update');
    if (!before) throw runtimeNotFound();
    if (!before.draining) return toRuntime(before, now, staleAfterMsOf(ctx));
    const [resumed] = await tx
      .update(runtimes)
      .set({ draining: false, drainingSince: null })
      .where(eq(runtimes.id, runtimeId))
      .returning();
    await audit(tx, ctx, {
      organizationId: null,
      action: 'runtime.resume',
      targetType: 'runtime',
      targetId: runtimeId,
      details: { drainingSince: before.drainingSince ? iso(before.drainingSince) : null },
    });
    return toRuntime(resumed!, now, staleAfterMsOf(ctx));
  });
}
