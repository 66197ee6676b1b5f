import { z } from 'zod';
import { Runtime, RuntimeIdParams, RuntimeList } from '@parley/contracts';
import { drainRuntime, listRuntimes, resumeRuntime } from '@parley/services';
import { serviceContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

/**
 * The voice runtimes of the instance: every organization's calls run on them, so only signed-in
 * instance administrators may see or drain them (never an API key).
 */
export const runtimeRoutes: RouteModule = (app, { deps }) => {
  const tags = ['runtimes'];
  app.get(
    '/runtimes',
    {
      schema: {
        tags,
        summary: 'List the processes that carry calls, with their load and drain state',
        response: { 200: RuntimeList },
      },
    },
    async (request) => listRuntimes(serviceContext(deps, request)),
  );
  app.post(
    '/runtimes/:id/drain',
    {
      schema: {
        tags,
        summary:
          'Drain a runtime: it takes no new calls and finishes its current ones (`drained` once empty)',
        params: RuntimeIdParams,
        body: z.strictObject({}).optional(),
        response: { 200: Runtime },
      },
    },
    async (request) => drainRuntime(serviceContext(deps, request), request.params.id),
  );
  app.post(
    '/runtimes/:id/resume',
    {
      schema: {
        tags,
        summary: 'Resume a draining runtime: it takes new calls again',
        params: RuntimeIdParams,
        body: z.strictObject({}).optional(),
        response: { 200: Runtime },
      },
    },
    async (request) => resumeRuntime(serviceContext(deps, request), request.params.id),
  );
};
