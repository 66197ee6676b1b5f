// What only the database can check about an outbound call: the agent is the organization's and
// published, the from-number is the organization's and has the credential that places its calls, and
// every variable is one the published version declares. Every offending field is answered in one 422.
import { BUILT_IN_VARIABLES, VoicemailConfig, type CreateCallBody, type FieldIssue } from '@parley/contracts';
import { agents, agentVersions, and, asc, eq, isNull, phoneNumbers, sql, type Executor } from '@parley/db';
import { ServiceError } from '../errors.js';

export interface OutboundCallPlan {
  agentId: string;
  agentVersion: number;
  phoneNumberId: string;
  carrier: string;
  credentialId: string;
  /** Whether the published version asks the carrier to detect answering machines (`voicemail.detect`). */
  machineDetection: boolean;
}

type Resolved<T> = { value: T; issues: [] } | { value: null; issues: FieldIssue[] };
const ok = <T>(value: T): Resolved<T> => ({ value, issues: [] });
const refused = (path: string, message: string): Resolved<never> => ({
  value: null,
  issues: [{ path, message }],
});

/** The published version of the agent and the variables it declares. */
async function resolveAgent(
  db: Executor,
  organizationId: string,
  agentId: string,
): Promise<Resolved<{ version: number; declared: Set<string>; machineDetection: boolean }>> {
  const [agent] = await db
    .select({ publishedVersion: agents.publishedVersion })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId), isNull(agents.deletedAt)));
  if (!agent) return refused('agentId', 'no such agent in this organization');
  if (agent.publishedVersion === null) {
    return refused('agentId', 'the agent has no published version: publish it before placing calls');
  }
  const [version] = await db
    .select({ config: agentVersions.config })
    .from(agentVersions)
    .where(and(eq(agentVersions.agentId, agentId), eq(agentVersions.version, agent.publishedVersion)));
  if (!version) return refused('agentId', 'the agent’s published version is missing');
  const variables = (version.config.variables ?? []) as { name: string }[];
  // Versions published before `voicemail` existed read as its defaults (the contract's, not a copy).
  const voicemail = VoicemailConfig.safeParse(version.config.voicemail ?? {});
  return ok({
    version: agent.publishedVersion,
    declared: new Set(variables.map((v) => v.name)),
    machineDetection: voicemail.success ? voicemail.data.detect : VoicemailConfig.parse({}).detect,
  });
}

/**
 * The organization's number `from`. A number is unique per carrier, so an organization could hold the
 * same number on two carriers: the one with a credential wins, then the oldest.
 */
async function resolveFromNumber(
  db: Executor,
  organizationId: string,
  from: string,
): Promise<Resolved<{ id: string; carrier: string; credentialId: string }>> {
  const [number] = await db
    .select({ id: phoneNumbers.id, carrier: phoneNumbers.carrier, credentialId: phoneNumbers.credentialId })
    .from(phoneNumbers)
    .where(and(eq(phoneNumbers.organizationId, organizationId), eq(phoneNumbers.number, from)))
    .orderBy(sql`${phoneNumbers.credentialId} is null`, asc(phoneNumbers.id))
    .limit(1);
  if (!number) return refused('from', 'not a phone number of this organization: register it first');
  if (!number.credentialId) {
    return refused('from', 'the number needs a credential to place calls: attach its carrier credential');
  }
  return ok({ id: number.id, carrier: number.carrier, credentialId: number.credentialId });
}

function variableIssues(names: string[], declared: Set<string>): FieldIssue[] {
  const builtIn = new Set<string>(BUILT_IN_VARIABLES);
  return names.flatMap((name): FieldIssue[] => {
    if (declared.has(name)) return [];
    const message = builtIn.has(name)
      ? 'is a built-in variable: Parley fills it on every call'
      : 'the agent’s published version declares no such variable';
    return [{ path: `variables.${name}`, message }];
  });
}

export async function resolveOutboundCall(
  db: Executor,
  organizationId: string,
  body: CreateCallBody,
): Promise<OutboundCallPlan> {
  const agent = await resolveAgent(db, organizationId, body.agentId);
  const number = await resolveFromNumber(db, organizationId, body.from);
  const issues = [
    ...agent.issues,
    ...number.issues,
    ...(agent.value ? variableIssues(Object.keys(body.variables ?? {}), agent.value.declared) : []),
  ];
  if (issues.length > 0 || !agent.value || !number.value) {
    const summary = issues.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new ServiceError('invalid_reference', `Cannot place the call: ${summary}`, issues);
  }
  return {
    agentId: body.agentId,
    agentVersion: agent.value.version,
    phoneNumberId: number.value.id,
    carrier: number.value.carrier,
    credentialId: number.value.credentialId,
    machineDetection: agent.value.machineDetection,
  };
}
