import { z } from 'zod';
import { ChangeRoleBody, Member, MemberParams, PageQuery, pageOf } from '@parley/contracts';
import { changeMemberRole, listMembers, removeMember } from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const memberRoutes: RouteModule = (app, { deps }) => {
  const tags = ['members'];
  app.get(
    '/members',
    {
      schema: {
        tags,
        summary: 'List the members of the current organization, in the order they joined',
        querystring: PageQuery,
        response: { 200: pageOf(Member) },
      },
    },
    async (request) => listMembers(await organizationContext(deps, request), request.query),
  );
  app.patch(
    '/members/:userId',
    {
      schema: {
        tags,
        summary: "Change a member's role (not the owner's: ownership is transferred)",
        params: MemberParams,
        body: ChangeRoleBody,
        response: { 200: Member },
      },
    },
    async (request) =>
      changeMemberRole(await organizationContext(deps, request), request.params.userId, request.body),
  );
  app.delete(
    '/members/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a member, or leave with your own user id (the owner can do neither)',
        params: MemberParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await removeMember(await organizationContext(deps, request), request.params.userId);
      return reply.code(204).send(null);
    },
  );
};
