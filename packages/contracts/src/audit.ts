import { z } from 'zod';
import { Id, PageQuery, Timestamp } from './common.js';

export const AuditEntry = z
  .object({
    id: Id,
    organizationId: Id.nullable(),
    actor: z.object({
      type: z.enum(['user', 'api_key', 'system']),
      id: Id.nullable(),
      label: z.string().describe('The user email or key name at the time.'),
    }),
    action: z.string().describe('e.g. `agent.publish`'),
    target: z.object({ type: z.string(), id: z.string().nullable() }),
    details: z.record(z.string(), z.unknown()),
    clientIp: z.string().nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditLogQuery = PageQuery.extend({
  action: z.string().max(100).optional(),
  targetType: z.string().max(50).optional(),
  targetId: z.string().max(100).optional(),
});
export type AuditLogQuery = z.infer<typeof AuditLogQuery>;
