import { auditLog, type Executor } from '@parley/db';
import type { OrgContext, ServiceContext } from './context.js';

export interface AuditEvent {
  organizationId: string | null;
  action: string;
  targetType: string;
  targetId?: string | null;
  /** What changed, never secrets: names, roles, versions, field names. */
  details?: Record<string, unknown>;
}

function actorColumns(ctx: ServiceContext) {
  switch (ctx.actor.type) {
    case 'user':
      return { actorType: 'user' as const, actorId: ctx.actor.userId, actorLabel: ctx.actor.email };
    case 'api_key':
      return { actorType: 'api_key' as const, actorId: ctx.actor.apiKeyId, actorLabel: ctx.actor.name };
    case 'system':
      return { actorType: 'system' as const, actorId: null, actorLabel: ctx.actor.label };
    case 'anonymous':
      return { actorType: 'system' as const, actorId: null, actorLabel: 'anonymous' };
  }
}

/** Writes the audit row of a mutation; call it with the mutation's own transaction. */
export async function audit(tx: Executor, ctx: ServiceContext, event: AuditEvent): Promise<void> {
  await tx.insert(auditLog).values({
    organizationId: event.organizationId,
    ...actorColumns(ctx),
    action: event.action,
    targetType: event.targetType,
    targetId: event.targetId ?? null,
    details: event.details ?? {},
    clientIp: ctx.clientIp,
  });
}

/** The audit row of a mutation inside the context's organization. */
export function auditInOrganization(
  tx: Executor,
  ctx: OrgContext,
  event: Omit<AuditEvent, 'organizationId'>,
): Promise<void> {
  return audit(tx, ctx, { ...event, organizationId: ctx.organizationId });
}
