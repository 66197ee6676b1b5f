// Which agents use a tool: deleting it would break their calls.
import { sql, type Executor } from '@parley/db';
import { agentsWithLiveConfig } from '../agents/agents-with-live-config.js';

/**
 * The agents whose draft or published version lists the tool, in one organization or (for a catalog
 * tool, `organizationId` null) in all of them.
 */
export function agentsUsingTool(
  db: Executor,
  organizationId: string | null,
  toolId: string,
): Promise<string[]> {
  return agentsWithLiveConfig(
    db,
    organizationId,
    (config) => sql`coalesce(${config}->'tools', '[]'::jsonb) @> ${JSON.stringify([{ toolId }])}::jsonb`,
  );
}
