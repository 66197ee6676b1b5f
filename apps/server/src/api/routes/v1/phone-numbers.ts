// /api/v1/phone-numbers: carrier numbers of the organization, the agent that answers each (and the
// hook that may pick another), and the webhook URLs to paste into the carrier's console. Thin: validate,
// call one verb, answer.
import { z } from 'zod';
import {
  CreatePhoneNumberBody,
  IdParams,
  PhoneNumber,
  PhoneNumbersQuery,
  UpdatePhoneNumberBody,
  pageOf,
} from '@parley/contracts';
import {
  createPhoneNumber,
  deletePhoneNumber,
  getPhoneNumber,
  listPhoneNumbers,
  updatePhoneNumber,
} from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const phoneNumberRoutes: RouteModule = (app, { deps }) => {
  const tags = ['phone-numbers'];
  app.post(
    '/phone-numbers',
    {
      schema: {
        tags,
        summary:
          'Register a carrier number (E.164), optionally with its credential, inbound agent and assistant request hook',
        body: CreatePhoneNumberBody,
        response: { 201: PhoneNumber },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createPhoneNumber(await organizationContext(deps, request), request.body)),
  );
  app.get(
    '/phone-numbers',
    {
      schema: {
        tags,
        summary: 'List phone numbers, newest first',
        querystring: PhoneNumbersQuery,
        response: { 200: pageOf(PhoneNumber) },
      },
    },
    async (request) => listPhoneNumbers(await organizationContext(deps, request), request.query),
  );
  app.get(
    '/phone-numbers/:id',
    {
      schema: {
        tags,
        summary: 'Get a phone number and its webhook URLs',
        params: IdParams,
        response: { 200: PhoneNumber },
      },
    },
    async (request) => getPhoneNumber(await organizationContext(deps, request), request.params.id),
  );
  app.patch(
    '/phone-numbers/:id',
    {
      schema: {
        tags,
        summary:
          'Rename a phone number or change its credential, inbound agent or assistant request hook (null detaches)',
        params: IdParams,
        body: UpdatePhoneNumberBody,
        response: { 200: PhoneNumber },
      },
    },
    async (request) =>
      updatePhoneNumber(await organizationContext(deps, request), request.params.id, request.body),
  );
  app.delete(
    '/phone-numbers/:id',
    {
      schema: {
        tags,
        summary: 'Delete a phone number (calls to it are no longer answered)',
        params: IdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await deletePhoneNumber(await organizationContext(deps, request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
