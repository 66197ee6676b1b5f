// Which agents use a tool: deleting it would break their calls.
import { agents, agentVersions, and, eq, isNull, or, sql, type Executor } from '@parley/db';

const usesTool = (config: typeof agents.draft | typeof agentVersions.config, toolId: string) =>
  sql`coalesce(${config}->'tools', '[]'::jsonb) @> ${JSON.stringify([{ toolId }])}::jsonb`;

/**
 * The agents whose draft or published version lists the tool, in one organization or (for a catalog
 * tool, `organizationId` null) in all of them. Older versions do not count: restoring one re-validates
 * its tools.
 */
export async function agentsUsingTool(
  db: Executor,
  organizationId: string | null,
  toolId: string,
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
        or(usesTool(agents.draft, toolId), usesTool(agentVersions.config, toolId)),
      ),
    )
    .orderBy(agents.id);
  return rows.map((r) => r.id);
}
