import { AgentConfig, Id, fieldIssues, type FieldIssue } from '@parley/contracts';
import { and, credentials, eq, inArray, type Executor } from '@parley/db';
import { validateProviderChoice, type ProviderKind } from '@parley/providers/catalog';
import { ServiceError } from '../errors.js';
import { agentToolIssues } from '../tools/agent-tool-issues.js';
import { isObject } from './merge-patch.js';

interface CredentialRef {
  path: string;
  id: string;
  /** The section's provider, when it names one: the credential must be for that provider. */
  provider: string | null;
}

/** The credential ids a config names, read from the raw input so they are checked even when other fields are bad. */
function credentialRefs(config: unknown): CredentialRef[] {
  const refs: CredentialRef[] = [];
  const take = (section: unknown, path: string[], fixedProvider?: string) => {
    if (!isObject(section)) return;
    const id = section.credentialId;
    if (typeof id === 'string' && Id.safeParse(id).success) {
      const provider = fixedProvider ?? (typeof section.provider === 'string' ? section.provider : null);
      refs.push({ path: [...path, 'credentialId'].join('.'), id, provider });
    }
  };
  if (!isObject(config)) return refs;
  take(config.stt, ['stt']);
  take(config.llm, ['llm']);
  take(config.tts, ['tts']);
  const fallbacks = isObject(config.llm) ? config.llm.fallbacks : undefined;
  if (Array.isArray(fallbacks)) fallbacks.forEach((f, i) => take(f, ['llm', 'fallbacks', String(i)]));
  // The pre-call request is signed like a webhook tool's: with a `custom` credential.
  take(config.preCallContext, ['preCallContext'], 'custom');
  return refs;
}

async function credentialIssues(
  db: Executor,
  organizationId: string,
  config: unknown,
): Promise<FieldIssue[]> {
  const refs = credentialRefs(config);
  if (refs.length === 0) return [];
  // FOR SHARE: a credential cannot be deleted while an agent that starts using it is being saved.
  const found = await db
    .select({ id: credentials.id, provider: credentials.provider })
    .from(credentials)
    .where(
      and(
        eq(credentials.organizationId, organizationId),
        inArray(credentials.id, [...new Set(refs.map((r) => r.id))]),
      ),
    )
    .for('share');
  const providerOf = new Map(found.map((r) => [r.id, r.provider]));
  return refs.flatMap((ref): FieldIssue[] => {
    const provider = providerOf.get(ref.id);
    if (provider === undefined)
      return [{ path: ref.path, message: 'no such credential in this organization' }];
    if (ref.provider !== null && provider !== ref.provider) {
      return [{ path: ref.path, message: `the credential is for ${provider}, not ${ref.provider}` }];
    }
    return [];
  });
}

/** Providers must be in the catalog, with options its schema accepts. */
function catalogIssues(config: AgentConfig): FieldIssue[] {
  const sections: [ProviderKind, string, { provider: string; options?: Record<string, unknown> }][] = [
    ['stt', 'stt', config.stt],
    ['llm', 'llm', config.llm],
    ...config.llm.fallbacks.map((fallback, i): [ProviderKind, string, typeof fallback] => [
      'llm',
      `llm.fallbacks.${i}`,
      fallback,
    ]),
    ['tts', 'tts', config.tts],
  ];
  return sections.flatMap(([kind, path, choice]) =>
    validateProviderChoice(kind, choice).map((issue) => ({
      path: [path, ...issue.path].join('.'),
      message: issue.message,
    })),
  );
}

/**
 * Validates a whole agent configuration: the schema (with defaults filled in), the provider catalog
 * (known providers, valid options) and what only the database knows: every referenced credential
 * belongs to the organization, and every tool is visible to it and offers the functions selected.
 * Every offending field
 * is listed in one 422 `invalid_config`, with paths relative to the config (`llm.credentialId`).
 */
export async function validateAgentConfig(
  db: Executor,
  organizationId: string,
  input: unknown,
): Promise<AgentConfig> {
  const parsed = AgentConfig.safeParse(input);
  const issues = [
    ...(parsed.success ? catalogIssues(parsed.data) : fieldIssues(parsed.error)),
    ...(await credentialIssues(db, organizationId, input)),
    ...(await agentToolIssues(db, organizationId, input)),
  ];
  if (!parsed.success || issues.length > 0) {
    const summary = issues.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new ServiceError('invalid_config', `Invalid agent configuration: ${summary}`, issues);
  }
  return parsed.data;
}
