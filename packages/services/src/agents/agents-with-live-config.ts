// The agents whose draft or published version matches a condition on its config (jsonb): what a
// resource's deletion would break. Older versions do not count; restoring one re-validates it.
import { agents, agentVersions, and, eq, isNull, or, type Executor, type sql } from '@parley/db';

type SQL = ReturnType<typeof sql>;

type ConfigColumn = typeof agents.draft | typeof agentVersions.config;

/** In one organization, or in all of them when `organizationId` is null (catalog resources). */
export async function agentsWithLiveConfig(
  db: Executor,
  organizationId: string | null,
  matches: (config: ConfigColumn) => SQL,
): Promise<string[]> {
  const rows = await db
    .select({ id: agents.id })
    .from(agents)
    .leftJoin(
      agentVersions,
      and(eq(agentVersions.agentId, agents.id), eq(agentVersions.version, agents.publishedVersion)),
    )
    .where(
      and(
        organizationId === null ? undefined : eq(agents.organizationId, organizationId),
        isNull(agents.deletedAt),
        or(matches(agents.draft), matches(agentVersions.config)),
      ),
    )
    .orderBy(agents.id);
  return rows.map((r) => r.id);
}
