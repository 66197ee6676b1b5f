import type { AuditEntry, AuditLogQuery, Page } from '@parley/contracts';
import { and, auditLog, desc, eq, lt } from '@parley/db';
import { authorize, type OrgContext } from '../context.js';
import { iso, toPage } from '../pagination.js';

function toAuditEntry(row: typeof auditLog.$inferSelect): AuditEntry {
  return {
    id: row.id,
    organizationId: row.organizationId,
    actor: { type: row.actorType, id: row.actorId, label: row.actorLabel },
    action: row.action,
    target: { type: row.targetType, id: row.targetId },
    details: row.details,
    clientIp: row.clientIp,
    createdAt: iso(row.createdAt),
  };
}

/** The organization's trail, newest first. Instance-wide rows (no organization) never show here. */
export async function listAuditLog(ctx: OrgContext, query: AuditLogQuery): Promise<Page<AuditEntry>> {
  authorize(ctx, 'audit_log:read');
  const rows = await ctx.db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.organizationId, ctx.organizationId),
        query.action === undefined ? undefined : eq(auditLog.action, query.action),
        query.targetType === undefined ? undefined : eq(auditLog.targetType, query.targetType),
        query.targetId === undefined ? undefined : eq(auditLog.targetId, query.targetId),
        query.cursor ? lt(auditLog.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toAuditEntry);
}
