// Which agent answers an incoming call, for the server's inbound webhook. The carrier request names
// only the carrier and the dialled number; no organization is known yet, so this is a system lookup
// across the instance (the unique (carrier, number) index makes the answer one row at most).
import type { Carrier } from '@parley/contracts';
import { agents, and, eq, isNull, organizations, phoneNumbers } from '@parley/db';
import type { ServiceDeps } from '../context.js';

/** Why no agent takes a call to a registered number. */
export type InboundRefusal = 'no_agent' | 'agent_not_published' | 'organization_suspended';

/**
 * Where an incoming call goes. `reason` is null exactly when an agent takes it. Even a refused call
 * to a registered number names its organization and credential, so the webhook can still verify the
 * carrier's signature and record the call before turning it away.
 */
export type InboundRoute =
  | {
      reason: null;
      organizationId: string;
      phoneNumberId: string;
      credentialId: string | null;
      agent: { id: string; publishedVersion: number };
    }
  | {
      reason: InboundRefusal;
      organizationId: string;
      phoneNumberId: string;
      credentialId: string | null;
      agent: null;
    }
  | { reason: 'unknown_number'; organizationId: null; phoneNumberId: null; credentialId: null; agent: null };

/** `number` is the dialled number in E.164, as the number was registered. */
export async function resolveInboundRoute(
  deps: ServiceDeps,
  carrier: Carrier,
  number: string,
): Promise<InboundRoute> {
  const [found] = await deps.db
    .select({
      phoneNumberId: phoneNumbers.id,
      organizationId: phoneNumbers.organizationId,
      credentialId: phoneNumbers.credentialId,
      suspendedAt: organizations.suspendedAt,
      // A deleted agent's row stays (its versions serve call history), so the join leaves it out.
      agentId: agents.id,
      publishedVersion: agents.publishedVersion,
    })
    .from(phoneNumbers)
    .innerJoin(organizations, eq(organizations.id, phoneNumbers.organizationId))
    .leftJoin(agents, and(eq(agents.id, phoneNumbers.inboundAgentId), isNull(agents.deletedAt)))
    .where(and(eq(phoneNumbers.carrier, carrier), eq(phoneNumbers.number, number)));
  if (!found) {
    return {
      reason: 'unknown_number',
      organizationId: null,
      phoneNumberId: null,
      credentialId: null,
      agent: null,
    };
  }
  const { organizationId, phoneNumberId, credentialId } = found;
  const refuse = (reason: InboundRefusal): InboundRoute => ({
    reason,
    organizationId,
    phoneNumberId,
    credentialId,
    agent: null,
  });
  if (found.suspendedAt !== null) return refuse('organization_suspended');
  if (found.agentId === null) return refuse('no_agent');
  if (found.publishedVersion === null) return refuse('agent_not_published');
  return {
    reason: null,
    organizationId,
    phoneNumberId,
    credentialId,
    agent: { id: found.agentId, publishedVersion: found.publishedVersion },
  };
}
