import { z } from 'zod';
import {
  CreateOrganizationBody,
  Organization,
  OwnershipTransfer,
  TransferOwnershipBody,
  UpdateOrganizationBody,
} from '@parley/contracts';
import {
  createOrganization,
  deleteOrganization,
  getOrganization,
  transferOwnership,
  updateOrganization,
} from '@parley/services';
import { organizationContext, serviceContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

/** `/organizations` creates a new one; `/organization` is the current one (the `Parley-Organization` header). */
export const organizationRoutes: RouteModule = (app, { deps }) => {
  const tags = ['organizations'];
  app.post(
    '/organizations',
    {
      schema: {
        tags,
        summary: 'Create an organization (you become its owner; signed-in users only)',
        body: CreateOrganizationBody,
        response: { 201: Organization },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createOrganization(serviceContext(deps, request), request.body)),
  );
  app.get(
    '/organization',
    { schema: { tags, summary: 'The current organization', response: { 200: Organization } } },
    async (request) => getOrganization(await organizationContext(deps, request)),
  );
  app.patch(
    '/organization',
    {
      schema: {
        tags,
        summary: 'Rename the current organization or set its retention periods (admin or owner)',
        body: UpdateOrganizationBody,
        response: { 200: Organization },
      },
    },
    async (request) => updateOrganization(await organizationContext(deps, request), request.body),
  );
  app.delete(
    '/organization',
    {
      schema: {
        tags,
        summary: 'Delete the current organization and everything in it (owner only)',
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await deleteOrganization(await organizationContext(deps, request));
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/organization/transfer-ownership',
    {
      schema: {
        tags,
        summary: 'Make another member the owner; you become an admin (owner only)',
        body: TransferOwnershipBody,
        response: { 200: OwnershipTransfer },
      },
    },
    async (request) => transferOwnership(await organizationContext(deps, request), request.body),
  );
};
