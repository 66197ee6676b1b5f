// /api/v1/tools: the tools an organization's agents may call — its own webhooks, MCP servers and
// built-ins, and the shared catalog's — and its own settings for catalog tools. Thin: validate, call
// one verb, answer. (Instance administrators publish catalog tools under /admin/tools.)
import { z } from 'zod';
import {
  CatalogToolSettingsBody,
  CreateToolBody,
  IdParams,
  TestToolBody,
  Tool,
  ToolTestResult,
  ToolsQuery,
  UpdateToolBody,
  pageOf,
} from '@parley/contracts';
import {
  createTool,
  deleteTool,
  getTool,
  listTools,
  refreshToolFunctions,
  setCatalogToolSettings,
  testTool,
  updateTool,
} from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const toolRoutes: RouteModule = (app, { deps, outbound }) => {
  const tags = ['tools'];
  app.post(
    '/tools',
    {
      schema: {
        tags,
        summary: 'Create a webhook, MCP or built-in tool',
        body: CreateToolBody,
        response: { 201: Tool },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createTool(await organizationContext(deps, request), request.body, outbound)),
  );
  app.get(
    '/tools',
    {
      schema: {
        tags,
        summary: 'List the organization’s tools and the shared catalog’s, newest first',
        querystring: ToolsQuery,
        response: { 200: pageOf(Tool) },
      },
    },
    async (request) => listTools(await organizationContext(deps, request), request.query),
  );
  app.get(
    '/tools/:id',
    {
      schema: {
        tags,
        summary: 'Get a tool and the functions it offers the model',
        params: IdParams,
        response: { 200: Tool },
      },
    },
    async (request) => getTool(await organizationContext(deps, request), request.params.id),
  );
  app.patch(
    '/tools/:id',
    {
      schema: {
        tags,
        summary: 'Edit a tool of the organization (the fields given replace the stored ones)',
        params: IdParams,
        body: UpdateToolBody,
        response: { 200: Tool },
      },
    },
    async (request) =>
      updateTool(await organizationContext(deps, request), request.params.id, request.body, outbound),
  );
  app.delete(
    '/tools/:id',
    {
      schema: {
        tags,
        summary: 'Delete a tool of the organization (refused while an agent uses it)',
        params: IdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await deleteTool(await organizationContext(deps, request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  app.put(
    '/tools/:id/settings',
    {
      schema: {
        tags,
        summary: 'Set the organization’s own credential and headers for a catalog tool',
        params: IdParams,
        body: CatalogToolSettingsBody,
        response: { 200: Tool },
      },
    },
    async (request) =>
      setCatalogToolSettings(await organizationContext(deps, request), request.params.id, request.body),
  );
  app.post(
    '/tools/:id/test',
    {
      schema: {
        tags,
        summary: 'Run a tool once with sample arguments and show the request and the answer',
        description:
          'Webhooks and MCP servers are really called, with the organization’s credential (masked in the answer). ' +
          'Built-ins are dry runs: a lead is not saved and no call is handed off.',
        params: IdParams,
        body: TestToolBody,
        response: { 200: ToolTestResult },
      },
    },
    async (request) =>
      testTool(await organizationContext(deps, request), request.params.id, request.body, { outbound }),
  );
  app.post(
    '/tools/:id/refresh',
    {
      schema: {
        tags,
        summary: 'Discover an MCP tool’s functions again',
        description:
          'Answers the tool: its functions when the server answered, otherwise `discoveryError` says why ' +
          '(and the functions found before are kept).',
        params: IdParams,
        response: { 200: Tool },
      },
    },
    async (request) =>
      refreshToolFunctions(await organizationContext(deps, request), request.params.id, outbound),
  );
};
