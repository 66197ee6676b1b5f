// /api/v1/analytics: what the organization's calls add up to. Thin: validate, call one verb, answer.
import { AnalyticsSummary, AnalyticsSummaryQuery } from '@parley/contracts';
import { summarizeCalls } from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const analyticsRoutes: RouteModule = (app, { deps }) => {
  app.get(
    '/analytics/summary',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Summarize the calls created in a time range (at most 400 days), optionally of one agent',
        querystring: AnalyticsSummaryQuery,
        response: { 200: AnalyticsSummary },
      },
    },
    async (request) => summarizeCalls(await organizationContext(deps, request), request.query),
  );
};
