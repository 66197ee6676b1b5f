import { z } from 'zod';
import {
  AcceptInvitationBody,
  CreateInvitationBody,
  CreatedInvitation,
  IdParams,
  Invitation,
  JoinedOrganization,
  PageQuery,
  pageOf,
} from '@parley/contracts';
import { acceptInvitation, createInvitation, listInvitations, revokeInvitation } from '@parley/services';
import { organizationContext, serviceContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const invitationRoutes: RouteModule = (app, { deps }) => {
  const tags = ['invitations'];
  app.post(
    '/invitations',
    {
      config: { respondsWithSecret: true },
      schema: {
        tags,
        summary: 'Invite someone by email (the token and link are shown once)',
        body: CreateInvitationBody,
        response: { 201: CreatedInvitation },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createInvitation(await organizationContext(deps, request), request.body)),
  );
  app.get(
    '/invitations',
    {
      schema: {
        tags,
        summary: 'List pending invitations (not accepted, revoked or expired)',
        querystring: PageQuery,
        response: { 200: pageOf(Invitation) },
      },
    },
    async (request) => listInvitations(await organizationContext(deps, request), request.query),
  );
  app.delete(
    '/invitations/:id',
    {
      schema: {
        tags,
        summary: 'Revoke a pending invitation',
        params: IdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await revokeInvitation(await organizationContext(deps, request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/invitations/accept',
    {
      schema: {
        tags,
        summary: 'Accept an invitation addressed to your email (signed-in users only)',
        body: AcceptInvitationBody,
        response: { 200: JoinedOrganization },
      },
    },
    async (request) => acceptInvitation(serviceContext(deps, request), request.body.token),
  );
};
