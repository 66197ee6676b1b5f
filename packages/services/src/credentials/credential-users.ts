import {
  type agents,
  type agentVersions,
  and,
  eq,
  phoneNumbers,
  sql,
  toolOrganizationSettings,
  tools,
  type Executor,
} from '@parley/db';
import { agentsWithLiveConfig } from '../agents/agents-with-live-config.js';

/**
 * Whether an agent config (jsonb) names the credential in its STT, LLM (or an LLM fallback), TTS or
 * pre-call context request.
 */
function referencesCredential(
  config: typeof agents.draft | typeof agentVersions.config,
  credentialId: string,
) {
  return sql`(
    ${config}->'stt'->>'credentialId' = ${credentialId}
    or ${config}->'llm'->>'credentialId' = ${credentialId}
    or ${config}->'tts'->>'credentialId' = ${credentialId}
    or ${config}->'preCallContext'->>'credentialId' = ${credentialId}
    or jsonb_path_exists(
      coalesce(${config}->'llm'->'fallbacks', '[]'::jsonb),
      '$[*] ? (@.credentialId == $id)',
      jsonb_build_object('id', ${credentialId}::text)
    )
  )`;
}

/** The agents whose draft or published version uses a credential: deleting it would break their calls. */
export function agentsUsingCredential(
  db: Executor,
  organizationId: string,
  credentialId: string,
): Promise<string[]> {
  return agentsWithLiveConfig(db, organizationId, (config) => referencesCredential(config, credentialId));
}

/**
 * The phone numbers that verify their carrier's requests with a credential: deleting it would leave
 * their calls unverifiable (and the foreign key refuses it anyway).
 */
export async function phoneNumbersUsingCredential(
  db: Executor,
  organizationId: string,
  credentialId: string,
): Promise<string[]> {
  const rows = await db
    .select({ id: phoneNumbers.id })
    .from(phoneNumbers)
    .where(and(eq(phoneNumbers.organizationId, organizationId), eq(phoneNumbers.credentialId, credentialId)))
    .orderBy(phoneNumbers.id);
  return rows.map((r) => r.id);
}

/**
 * The tools that authenticate their requests with a credential: the organization's own webhook and MCP
 * tools, and the catalog tools it set the credential on. Deleting it would make their calls fail.
 */
export async function toolsUsingCredential(
  db: Executor,
  organizationId: string,
  credentialId: string,
): Promise<string[]> {
  const own = await db
    .select({ id: tools.id })
    .from(tools)
    .where(
      and(
        eq(tools.organizationId, organizationId),
        sql`${tools.settings}->>'credentialId' = ${credentialId}`,
      ),
    );
  const catalog = await db
    .select({ id: toolOrganizationSettings.toolId })
    .from(toolOrganizationSettings)
    .where(
      and(
        eq(toolOrganizationSettings.organizationId, organizationId),
        eq(toolOrganizationSettings.credentialId, credentialId),
      ),
    );
  return [...new Set([...own, ...catalog].map((r) => r.id))].sort();
}
