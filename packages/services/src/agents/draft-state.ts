import { isDeepStrictEqual } from 'node:util';
import type { AgentConfig } from '@parley/contracts';
import type { Executor } from '@parley/db';
import { findAgentVersion, type AgentRow } from './agent-row.js';

/** The top-level fields that differ between two configs (names only: the audit log never holds prompts). */
export function changedFields(before: Record<string, unknown>, after: AgentConfig): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !isDeepStrictEqual(before[k], (after as Record<string, unknown>)[k])).sort();
}

/**
 * The revision columns after the draft becomes `config`: a real change bumps the draft revision, and
 * when the draft then equals the published config again (an edit undone, the published version
 * restored) the published revision follows it, so "unpublished changes" stays exact.
 */
export async function nextRevisions(
  db: Executor,
  agent: AgentRow,
  config: AgentConfig,
  changed: boolean,
): Promise<{ draftRevision: number; publishedRevision: number | null }> {
  const draftRevision = changed ? agent.draftRevision + 1 : agent.draftRevision;
  if (agent.publishedVersion === null) return { draftRevision, publishedRevision: null };
  const published = await findAgentVersion(db, agent, agent.publishedVersion);
  const same = isDeepStrictEqual(published.config, config as Record<string, unknown>);
  return { draftRevision, publishedRevision: same ? draftRevision : agent.publishedRevision };
}
