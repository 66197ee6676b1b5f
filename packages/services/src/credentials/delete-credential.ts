import { credentials, eq } from '@parley/db';
import { auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import {
  agentsUsingCredential,
  phoneNumbersUsingCredential,
  toolsUsingCredential,
} from './credential-users.js';
import { findCredential } from './credential-row.js';

/**
 * Deletes a credential for good, unless an agent's draft or published version, a phone number or a
 * tool still uses it.
 */
export async function deleteCredential(ctx: OrgContext, id: string): Promise<void> {
  authorize(ctx, 'credentials:write');
  await ctx.db.transaction(async (tx) => {
    const row = await findCredential(tx, ctx.organizationId, id, { lock: true });
    const agentIds = await agentsUsingCredential(tx, ctx.organizationId, row.id);
    const phoneNumberIds = await phoneNumbersUsingCredential(tx, ctx.organizationId, row.id);
    const toolIds = await toolsUsingCredential(tx, ctx.organizationId, row.id);
    if (agentIds.length > 0 || phoneNumberIds.length > 0 || toolIds.length > 0) {
      const users = [
        ...(agentIds.length > 0 ? [`${agentIds.length} agent(s)`] : []),
        ...(phoneNumberIds.length > 0 ? [`${phoneNumberIds.length} phone number(s)`] : []),
        ...(toolIds.length > 0 ? [`${toolIds.length} tool(s)`] : []),
      ].join(' and ');
      throw new ServiceError(
        'credential_in_use',
        `The credential is used by ${users}; point them at another credential first`,
        { agentIds, phoneNumberIds, toolIds },
      );
    }
    await tx.delete(credentials).where(eq(credentials.id, row.id));
    await auditInOrganization(tx, ctx, {
      action: 'credential.delete',
      targetType: 'credential',
      targetId: row.id,
      details: { name: row.name, provider: row.provider },
    });
  });
}
