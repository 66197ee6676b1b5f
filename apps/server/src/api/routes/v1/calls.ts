// /api/v1/calls: place outbound calls, read and list the organization's calls, cancel one before it is
// answered. Thin: validate, call one verb, answer.
import { Call, CallsQuery, CreateCallBody, IdParams, pageOf } from '@parley/contracts';
import { cancelCall, createOutboundCall, getCall, listCalls } from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const callRoutes: RouteModule = (app, { deps }) => {
  const tags = ['calls'];
  app.post(
    '/calls',
    {
      schema: {
        tags,
        summary: 'Place an outbound call from one of the organization’s numbers (answers it queued)',
        body: CreateCallBody,
        response: { 201: Call },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createOutboundCall(await organizationContext(deps, request), request.body)),
  );
  app.get(
    '/calls',
    {
      schema: {
        tags,
        summary: 'List calls, newest first, by status, direction, agent or creation time',
        querystring: CallsQuery,
        response: { 200: pageOf(Call) },
      },
    },
    async (request) => listCalls(await organizationContext(deps, request), request.query),
  );
  app.get(
    '/calls/:id',
    { schema: { tags, summary: 'Get a call', params: IdParams, response: { 200: Call } } },
    async (request) => getCall(await organizationContext(deps, request), request.params.id),
  );
  app.delete(
    '/calls/:id',
    {
      schema: {
        tags,
        summary: 'Cancel a queued or ringing call (hangs it up at the carrier); answers the call',
        params: IdParams,
        response: { 200: Call },
      },
    },
    async (request) => cancelCall(await organizationContext(deps, request), request.params.id),
  );
};
