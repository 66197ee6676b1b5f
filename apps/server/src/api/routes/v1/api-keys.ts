import { ApiKey, CreateApiKeyBody, CreatedApiKey, IdParams, PageQuery, pageOf } from '@parley/contracts';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const apiKeyRoutes: RouteModule = (app, { deps }) => {
  const tags = ['api-keys'];
  app.post(
    '/api-keys',
    {
      config: { respondsWithSecret: true },
      schema: {
        tags,
        summary: 'Create an API key (its secret is shown once)',
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createApiKey(await organizationContext(deps, request), request.body)),
  );
  app.get(
    '/api-keys',
    { schema: { tags, summary: 'List API keys', querystring: PageQuery, response: { 200: pageOf(ApiKey) } } },
    async (request) => listApiKeys(await organizationContext(deps, request), request.query),
  );
  app.get(
    '/api-keys/:id',
    { schema: { tags, summary: 'Get an API key', params: IdParams, response: { 200: ApiKey } } },
    async (request) => getApiKey(await organizationContext(deps, request), request.params.id),
  );
  app.delete(
    '/api-keys/:id',
    { schema: { tags, summary: 'Revoke an API key', params: IdParams, response: { 200: ApiKey } } },
    async (request) => revokeApiKey(await organizationContext(deps, request), request.params.id),
  );
};
