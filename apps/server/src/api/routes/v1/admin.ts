import { z } from 'zod';
import {
  AdminOrganization,
  AdminOrganizationsQuery,
  CreateToolBody,
  IdParams,
  InstanceSettings,
  SuspendOrganizationBody,
  Tool,
  UpdateInstanceSettingsBody,
  UpdateToolBody,
  pageOf,
} from '@parley/contracts';
import {
  deleteCatalogTool,
  getInstanceSettings,
  publishCatalogTool,
  updateCatalogTool,
  listOrganizationsAsAdmin,
  reactivateOrganization,
  suspendOrganization,
  updateInstanceSettings,
} from '@parley/services';
import { serviceContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

/** Instance administration: signed-in instance administrators only (never an API key). */
export const adminRoutes: RouteModule = (app, { deps }) => {
  const tags = ['admin'];
  app.get(
    '/admin/organizations',
    {
      schema: {
        tags,
        summary: 'List every organization on the instance with its usage',
        querystring: AdminOrganizationsQuery,
        response: { 200: pageOf(AdminOrganization) },
      },
    },
    async (request) => listOrganizationsAsAdmin(serviceContext(deps, request), request.query),
  );
  app.post(
    '/admin/organizations/:id/suspend',
    {
      schema: {
        tags,
        summary: 'Suspend an organization: its API keys stop working and its members can only read',
        params: IdParams,
        body: SuspendOrganizationBody,
        response: { 200: AdminOrganization },
      },
    },
    async (request) => suspendOrganization(serviceContext(deps, request), request.params.id, request.body),
  );
  app.post(
    '/admin/organizations/:id/reactivate',
    {
      schema: {
        tags,
        summary: 'Lift the suspension of an organization',
        params: IdParams,
        body: z.strictObject({}).optional(),
        response: { 200: AdminOrganization },
      },
    },
    async (request) => reactivateOrganization(serviceContext(deps, request), request.params.id),
  );
  app.get(
    '/admin/settings',
    { schema: { tags, summary: 'Instance-wide settings', response: { 200: InstanceSettings } } },
    async (request) => getInstanceSettings(serviceContext(deps, request)),
  );
  app.patch(
    '/admin/settings',
    {
      schema: {
        tags,
        summary: 'Change instance-wide settings (only the fields given)',
        body: UpdateInstanceSettingsBody,
        response: { 200: InstanceSettings },
      },
    },
    async (request) => updateInstanceSettings(serviceContext(deps, request), request.body),
  );
  app.post(
    '/admin/tools',
    {
      schema: {
        tags,
        summary: 'Publish a tool to the shared catalog: every organization may attach it to its agents',
        body: CreateToolBody,
        response: { 201: Tool },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await publishCatalogTool(serviceContext(deps, request), request.body)),
  );
  app.patch(
    '/admin/tools/:id',
    {
      schema: {
        tags,
        summary: 'Edit a catalog tool (every organization sees the change)',
        params: IdParams,
        body: UpdateToolBody,
        response: { 200: Tool },
      },
    },
    async (request) => updateCatalogTool(serviceContext(deps, request), request.params.id, request.body),
  );
  app.delete(
    '/admin/tools/:id',
    {
      schema: {
        tags,
        summary: 'Withdraw a tool from the catalog (refused while an agent of any organization uses it)',
        params: IdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await deleteCatalogTool(serviceContext(deps, request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
