import { AuditEntry, AuditLogQuery, pageOf } from '@parley/contracts';
import { listAuditLog } from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const auditLogRoutes: RouteModule = (app, { deps }) => {
  app.get(
    '/audit-log',
    {
      schema: {
        tags: ['audit-log'],
        summary: 'The organization’s audit trail, newest first (owners and admins)',
        querystring: AuditLogQuery,
        response: { 200: pageOf(AuditEntry) },
      },
    },
    async (request) => listAuditLog(await organizationContext(deps, request), request.query),
  );
};
