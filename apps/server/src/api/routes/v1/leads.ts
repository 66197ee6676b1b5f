// /api/v1/leads: the details callers gave during calls, saved by the built-in `capture_lead` tool.
// Thin: validate, call one verb, answer.
import { Lead, LeadsQuery, pageOf } from '@parley/contracts';
import { listLeads } from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const leadRoutes: RouteModule = (app, { deps }) => {
  app.get(
    '/leads',
    {
      schema: {
        tags: ['leads'],
        summary: 'List the leads captured during calls, newest first',
        querystring: LeadsQuery,
        response: { 200: pageOf(Lead) },
      },
    },
    async (request) => listLeads(await organizationContext(deps, request), request.query),
  );
};
