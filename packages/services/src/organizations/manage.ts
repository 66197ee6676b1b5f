import type { Organization, UpdateOrganizationBody } from '@parley/contracts';
import { and, eq, memberships, organizations } from '@parley/db';
import { audit, auditInOrganization } from '../audit.js';
import { authorize, type OrgContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { lockOrganization } from './lock.js';
import { toOrganization } from './views.js';

/** The organization the request acts in. */
export async function getOrganization(ctx: OrgContext): Promise<Organization> {
  authorize(ctx, 'organization:read');
  const [row] = await ctx.db.select().from(organizations).where(eq(organizations.id, ctx.organizationId));
  if (!row) throw new ServiceError('organization_not_found', 'Organization not found');
  return toOrganization(row);
}

/** Renames the organization and sets its retention periods; only the fields given change. */
export async function updateOrganization(
  ctx: OrgContext,
  input: UpdateOrganizationBody,
): Promise<Organization> {
  authorize(ctx, 'organization:update');
  return ctx.db.transaction(async (tx) => {
    const before = await lockOrganization(tx, ctx.organizationId);
    const changes = {
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.recordingRetentionDays === undefined
        ? {}
        : { recordingRetentionDays: input.recordingRetentionDays }),
      ...(input.transcriptRetentionDays === undefined
        ? {}
        : { transcriptRetentionDays: input.transcriptRetentionDays }),
    };
    const [row] = await tx
      .update(organizations)
      .set(changes)
      .where(eq(organizations.id, ctx.organizationId))
      .returning();
    if (!row) throw new ServiceError('organization_not_found', 'Organization not found');
    const details: Record<string, { from: unknown; to: unknown }> = {};
    for (const field of Object.keys(changes) as (keyof typeof changes)[]) {
      if (before[field] !== row[field]) details[field] = { from: before[field], to: row[field] };
    }
    await auditInOrganization(tx, ctx, {
      action: 'organization.update',
      targetType: 'organization',
      targetId: row.id,
      details,
    });
    return toOrganization(row);
  });
}

export function renameOrganization(ctx: OrgContext, input: { name: string }): Promise<Organization> {
  return updateOrganization(ctx, { name: input.name });
}

/**
 * Deletes the organization and, through the foreign keys' cascade, everything in it (members,
 * invitations, keys, credentials, agents). The audit row stays: the audit log has no foreign key.
 */
export async function deleteOrganization(ctx: OrgContext): Promise<void> {
  authorize(ctx, 'organization:delete');
  await ctx.db.transaction(async (tx) => {
    const organization = await lockOrganization(tx, ctx.organizationId);
    // The role in the context was read before the lock; a transfer may have happened since.
    if (ctx.actor.type === 'user') {
      const [membership] = await tx
        .select({ role: memberships.role })
        .from(memberships)
        .where(
          and(eq(memberships.organizationId, ctx.organizationId), eq(memberships.userId, ctx.actor.userId)),
        );
      if (membership?.role !== 'owner') {
        throw new ServiceError('forbidden', 'Only the owner can delete the organization', {
          required: 'organization:delete',
        });
      }
    }
    await audit(tx, ctx, {
      organizationId: organization.id,
      action: 'organization.delete',
      targetType: 'organization',
      targetId: organization.id,
      details: { name: organization.name },
    });
    await tx.delete(organizations).where(eq(organizations.id, organization.id));
  });
}
