import { agents, agentVersions, and, eq, isNull, or, phoneNumbers, sql, type Executor } from '@parley/db';

/** Whether an agent config (jsonb) names the credential in its STT, LLM (or an LLM fallback) or TTS. */
function referencesCredential(
  config: typeof agents.draft | typeof agentVersions.config,
  credentialId: string,
) {
  return sql`(
    ${config}->'stt'->>'credentialId' = ${credentialId}
    or ${config}->'llm'->>'credentialId' = ${credentialId}
    or ${config}->'tts'->>'credentialId' = ${credentialId}
    or jsonb_path_exists(
      coalesce(${config}->'llm'->'fallbacks', '[]'::jsonb),
      '$[*] ? (@.credentialId == $id)',
      jsonb_build_object('id', ${credentialId}::text)
    )
  )`;
}

/**
 * The agents whose draft or published version uses a credential: deleting it would break their calls.
 * Older versions do not count; restoring one re-validates its credentials.
 */
export async function agentsUsingCredential(
  db: Executor,
  organizationId: string,
  credentialId: string,
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
        eq(agents.organizationId, organizationId),
        isNull(agents.deletedAt),
        or(
          referencesCredential(agents.draft, credentialId),
          referencesCredential(agentVersions.config, credentialId),
        ),
      ),
    )
    .orderBy(agents.id);
  return rows.map((r) => r.id);
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
