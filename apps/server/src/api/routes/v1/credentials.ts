import { z } from 'zod';
import {
  CreateCredentialBody,
  Credential,
  CredentialsQuery,
  IdParams,
  UpdateCredentialBody,
  pageOf,
} from '@parley/contracts';
import {
  createCredential,
  deleteCredential,
  getCredential,
  listCredentials,
  updateCredential,
} from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

/** Provider and carrier secrets. No route ever returns a secret: only a masked hint and the public fields. */
export const credentialRoutes: RouteModule = (app, { deps }) => {
  const tags = ['credentials'];
  app.post(
    '/credentials',
    {
      schema: {
        tags,
        summary: 'Store a provider or carrier credential (encrypted; never shown again)',
        body: CreateCredentialBody,
        response: { 201: Credential },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createCredential(await organizationContext(deps, request), request.body)),
  );
  app.get(
    '/credentials',
    {
      schema: {
        tags,
        summary: 'List credentials (masked)',
        querystring: CredentialsQuery,
        response: { 200: pageOf(Credential) },
      },
    },
    async (request) => listCredentials(await organizationContext(deps, request), request.query),
  );
  app.get(
    '/credentials/:id',
    {
      schema: { tags, summary: 'Get a credential (masked)', params: IdParams, response: { 200: Credential } },
    },
    async (request) => getCredential(await organizationContext(deps, request), request.params.id),
  );
  app.patch(
    '/credentials/:id',
    {
      schema: {
        tags,
        summary: 'Rename a credential or replace all its values',
        params: IdParams,
        body: UpdateCredentialBody,
        response: { 200: Credential },
      },
    },
    async (request) =>
      updateCredential(await organizationContext(deps, request), request.params.id, request.body),
  );
  app.delete(
    '/credentials/:id',
    {
      schema: {
        tags,
        summary: 'Delete a credential that no agent uses',
        params: IdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await deleteCredential(await organizationContext(deps, request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
