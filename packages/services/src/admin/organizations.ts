import type {
  AdminOrganization,
  AdminOrganizationsQuery,
  Page,
  SuspendOrganizationBody,
} from '@parley/contracts';
import { and, desc, eq, isNotNull, isNull, lt, organizations, sql, type Executor } from '@parley/db';
import { audit } from '../audit.js';
import { nowOf, requireInstanceAdmin, type ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { iso, isoOrNull, toPage } from '../pagination.js';

// Correlated counts: one round trip for a page of organizations, whatever its size. Spelled out in
// SQL because drizzle leaves columns unqualified in a one-table select, which would bind them to the
// subquery's own table.
const usageColumns = {
  members:
    sql<number>`(select count(*) from memberships m where m.organization_id = organizations.id)`.mapWith(
      Number,
    ),
  agents:
    sql<number>`(select count(*) from agents a where a.organization_id = organizations.id and a.deleted_at is null)`.mapWith(
      Number,
    ),
  apiKeys:
    sql<number>`(select count(*) from api_keys k where k.organization_id = organizations.id and k.revoked_at is null)`.mapWith(
      Number,
    ),
};

type Row = Pick<
  typeof organizations.$inferSelect,
  'id' | 'name' | 'suspendedAt' | 'suspendedReason' | 'createdAt'
> & { members: number; agents: number; apiKeys: number };

function toAdminOrganization(row: Row): AdminOrganization {
  return {
    id: row.id,
    name: row.name,
    suspended: row.suspendedAt !== null,
    suspendedAt: isoOrNull(row.suspendedAt),
    suspendedReason: row.suspendedReason,
    createdAt: iso(row.createdAt),
    usage: { members: row.members, agents: row.agents, apiKeys: row.apiKeys },
  };
}

const selectWithUsage = (db: Executor) =>
  db
    .select({
      id: organizations.id,
      name: organizations.name,
      suspendedAt: organizations.suspendedAt,
      suspendedReason: organizations.suspendedReason,
      createdAt: organizations.createdAt,
      ...usageColumns,
    })
    .from(organizations);

async function loadAdminOrganization(db: Executor, id: string): Promise<AdminOrganization> {
  const [row] = await selectWithUsage(db).where(eq(organizations.id, id));
  if (!row) throw new ServiceError('organization_not_found', 'Organization not found');
  return toAdminOrganization(row);
}

/** Every organization on the instance, newest first, with what it uses. */
export async function listOrganizationsAsAdmin(
  ctx: ServiceContext,
  query: AdminOrganizationsQuery,
): Promise<Page<AdminOrganization>> {
  requireInstanceAdmin(ctx);
  const suspendedFilter =
    query.suspended === undefined
      ? undefined
      : query.suspended
        ? isNotNull(organizations.suspendedAt)
        : isNull(organizations.suspendedAt);
  const rows = await selectWithUsage(ctx.db)
    .where(and(suspendedFilter, query.cursor ? lt(organizations.id, query.cursor) : undefined))
    .orderBy(desc(organizations.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toAdminOrganization);
}

/**
 * Stops an organization: its API keys stop authenticating and its members can only read (see
 * `authorize` and `authenticateApiKey`). Nothing is deleted, so reactivating restores everything.
 */
export async function suspendOrganization(
  ctx: ServiceContext,
  id: string,
  input: SuspendOrganizationBody,
): Promise<AdminOrganization> {
  requireInstanceAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    // Conditional update: of two concurrent suspensions exactly one wins, the other is a conflict.
    const [row] = await tx
      .update(organizations)
      .set({ suspendedAt: nowOf(ctx), suspendedReason: input.reason })
      .where(and(eq(organizations.id, id), isNull(organizations.suspendedAt)))
      .returning();
    if (!row) {
      const current = await loadAdminOrganization(tx, id);
      throw new ServiceError('conflict', 'The organization is already suspended', {
        suspendedAt: current.suspendedAt,
      });
    }
    await audit(tx, ctx, {
      organizationId: row.id,
      action: 'organization.suspend',
      targetType: 'organization',
      targetId: row.id,
      details: { reason: input.reason },
    });
    return loadAdminOrganization(tx, row.id);
  });
}

export async function reactivateOrganization(ctx: ServiceContext, id: string): Promise<AdminOrganization> {
  requireInstanceAdmin(ctx);
  return ctx.db.transaction(async (tx) => {
    const [before] = await tx
      .select({ suspendedAt: organizations.suspendedAt, suspendedReason: organizations.suspendedReason })
      .from(organizations)
      .where(eq(organizations.id, id))
      .for('update');
    if (!before) throw new ServiceError('organization_not_found', 'Organization not found');
    if (!before.suspendedAt) throw new ServiceError('conflict', 'The organization is not suspended');
    await tx
      .update(organizations)
      .set({ suspendedAt: null, suspendedReason: null })
      .where(eq(organizations.id, id));
    await audit(tx, ctx, {
      organizationId: id,
      action: 'organization.reactivate',
      targetType: 'organization',
      targetId: id,
      details: { suspendedAt: iso(before.suspendedAt), reason: before.suspendedReason },
    });
    return loadAdminOrganization(tx, id);
  });
}
