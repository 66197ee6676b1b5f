import { z } from 'zod';
import {
  Agent,
  AgentVersion,
  AgentVersionParams,
  CreateAgentBody,
  IdParams,
  PageQuery,
  UpdateAgentBody,
  pageOf,
} from '@parley/contracts';
import {
  createAgent,
  deleteAgent,
  getAgent,
  getAgentVersion,
  listAgents,
  listAgentVersions,
  publishAgent,
  restoreAgentVersion,
  updateAgent,
} from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const agentRoutes: RouteModule = (app, { deps }) => {
  const tags = ['agents'];
  app.get(
    '/agents',
    { schema: { tags, summary: 'List agents', querystring: PageQuery, response: { 200: pageOf(Agent) } } },
    async (request) => listAgents(await organizationContext(deps, request), request.query),
  );
  app.post(
    '/agents',
    {
      // The body schema documents the config; the service validates it, so a bad one answers
      // 422 invalid_config listing every field, the same as PATCH.
      attachValidation: true,
      schema: {
        tags,
        summary: 'Create an agent (omitted fields take their defaults)',
        body: CreateAgentBody,
        response: { 201: Agent },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createAgent(await organizationContext(deps, request), request.body as unknown)),
  );
  app.get(
    '/agents/:id',
    { schema: { tags, summary: 'Get an agent and its draft', params: IdParams, response: { 200: Agent } } },
    async (request) => getAgent(await organizationContext(deps, request), request.params.id),
  );
  app.patch(
    '/agents/:id',
    {
      schema: {
        tags,
        summary: 'Edit the draft with a JSON merge patch (null resets a field to its default)',
        params: IdParams,
        body: UpdateAgentBody,
        response: { 200: Agent },
      },
    },
    async (request) => updateAgent(await organizationContext(deps, request), request.params.id, request.body),
  );
  app.delete(
    '/agents/:id',
    { schema: { tags, summary: 'Delete an agent', params: IdParams, response: { 204: z.null() } } },
    async (request, reply) => {
      await deleteAgent(await organizationContext(deps, request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/agents/:id/publish',
    {
      schema: {
        tags,
        summary: 'Publish the draft as a new immutable version (the current one if nothing changed)',
        params: IdParams,
        response: { 200: AgentVersion, 201: AgentVersion },
      },
    },
    async (request, reply) => {
      const { version, created } = await publishAgent(
        await organizationContext(deps, request),
        request.params.id,
      );
      return reply.code(created ? 201 : 200).send(version);
    },
  );
  app.get(
    '/agents/:id/versions',
    {
      schema: {
        tags,
        summary: 'List the published versions, newest first',
        params: IdParams,
        querystring: PageQuery,
        response: { 200: pageOf(AgentVersion) },
      },
    },
    async (request) =>
      listAgentVersions(await organizationContext(deps, request), request.params.id, request.query),
  );
  app.get(
    '/agents/:id/versions/:version',
    {
      schema: {
        tags,
        summary: 'Get a published version',
        params: AgentVersionParams,
        response: { 200: AgentVersion },
      },
    },
    async (request) =>
      getAgentVersion(await organizationContext(deps, request), request.params.id, request.params.version),
  );
  app.post(
    '/agents/:id/versions/:version/restore',
    {
      schema: {
        tags,
        summary: 'Copy a version into the draft (does not publish)',
        params: AgentVersionParams,
        response: { 200: Agent },
      },
    },
    async (request) =>
      restoreAgentVersion(
        await organizationContext(deps, request),
        request.params.id,
        request.params.version,
      ),
  );
};
