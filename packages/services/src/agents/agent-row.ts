import type { Agent, AgentVersion } from '@parley/contracts';
import { agents, agentVersions, and, eq, isNull, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';
import { iso } from '../pagination.js';

export type AgentRow = typeof agents.$inferSelect;
export type AgentVersionRow = typeof agentVersions.$inferSelect;

export function toAgent(row: AgentRow): Agent {
  return {
    id: row.id,
    name: row.name,
    draft: row.draft as Agent['draft'],
    publishedVersion: row.publishedVersion,
    // The revisions are equal exactly when the draft is what the published version holds.
    hasUnpublishedChanges: row.publishedRevision !== row.draftRevision,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export function toAgentVersion(row: AgentVersionRow): AgentVersion {
  return {
    agentId: row.agentId,
    version: row.version,
    config: row.config as AgentVersion['config'],
    publishedBy: row.publishedBy,
    createdAt: iso(row.createdAt),
  };
}

/**
 * An agent of this organization that is not deleted, locked for the transaction when `lock` (edits
 * read, merge and write the draft). Another organization's agent is "not found", like a missing one.
 */
export async function findAgent(
  db: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<AgentRow> {
  const query = db
    .select()
    .from(agents)
    .where(and(eq(agents.id, id), eq(agents.organizationId, organizationId), isNull(agents.deletedAt)));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw new ServiceError('agent_not_found', 'Agent not found');
  return row;
}

export async function findAgentVersion(
  db: Executor,
  agent: AgentRow,
  version: number,
): Promise<AgentVersionRow> {
  const [row] = await db
    .select()
    .from(agentVersions)
    .where(
      and(
        eq(agentVersions.agentId, agent.id),
        eq(agentVersions.organizationId, agent.organizationId),
        eq(agentVersions.version, version),
      ),
    );
  if (!row) throw new ServiceError('agent_version_not_found', `Agent version ${version} not found`);
  return row;
}
