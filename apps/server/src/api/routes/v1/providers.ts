import { ProviderCatalog } from '@parley/contracts';
import { listProviderCatalog } from '@parley/services';
import { serviceContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const providerRoutes: RouteModule = (app, { deps }) => {
  app.get(
    '/providers',
    {
      schema: {
        tags: ['providers'],
        summary: 'Speech-to-text, model and voice providers, with their models, voices and option schemas',
        response: { 200: ProviderCatalog },
      },
    },
    async (request) => listProviderCatalog(serviceContext(deps, request)),
  );
};
