// /api/v1/webhook-endpoints: where an organization's events are POSTed, signed; their delivery log,
// manual replay and a test ping. Thin: validate, call one verb, answer.
import { z } from 'zod';
import {
  CreateWebhookEndpointBody,
  IdParams,
  UpdateWebhookEndpointBody,
  WebhookDeliveriesQuery,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointsQuery,
  WebhookEndpointWithSecret,
  pageOf,
} from '@parley/contracts';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  replayWebhookDelivery,
  rotateWebhookSecret,
  testWebhookEndpoint,
  updateWebhookEndpoint,
} from '@parley/services';
import { organizationContext } from '../../plugins/auth.js';
import type { RouteModule } from '../../types.js';

export const webhookEndpointRoutes: RouteModule = (app, { deps, outbound }) => {
  const tags = ['webhooks'];
  app.post(
    '/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'Register a webhook endpoint (its signing secret is shown here, once)',
        body: CreateWebhookEndpointBody,
        response: { 201: WebhookEndpointWithSecret },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createWebhookEndpoint(await organizationContext(deps, request), request.body)),
  );
  app.get(
    '/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'List webhook endpoints',
        querystring: WebhookEndpointsQuery,
        response: { 200: pageOf(WebhookEndpoint) },
      },
    },
    async (request) => listWebhookEndpoints(await organizationContext(deps, request), request.query),
  );
  app.get(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Get a webhook endpoint',
        params: IdParams,
        response: { 200: WebhookEndpoint },
      },
    },
    async (request) => getWebhookEndpoint(await organizationContext(deps, request), request.params.id),
  );
  app.patch(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Change an endpoint’s URL, description or events, or enable/disable it',
        params: IdParams,
        body: UpdateWebhookEndpointBody,
        response: { 200: WebhookEndpoint },
      },
    },
    async (request) =>
      updateWebhookEndpoint(await organizationContext(deps, request), request.params.id, request.body),
  );
  app.delete(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Delete a webhook endpoint and its delivery log',
        params: IdParams,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await deleteWebhookEndpoint(await organizationContext(deps, request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'Replace the signing secret (the new one is shown here, once)',
        params: IdParams,
        response: { 200: WebhookEndpointWithSecret },
      },
    },
    async (request) => rotateWebhookSecret(await organizationContext(deps, request), request.params.id),
  );
  app.get(
    '/webhook-endpoints/:id/deliveries',
    {
      schema: {
        tags,
        summary: 'An endpoint’s deliveries, newest first, each with its attempts',
        params: IdParams,
        querystring: WebhookDeliveriesQuery,
        response: { 200: pageOf(WebhookDelivery) },
      },
    },
    async (request) =>
      listWebhookDeliveries(await organizationContext(deps, request), request.params.id, request.query),
  );
  app.post(
    '/webhook-endpoints/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a `ping` event now and return the attempt',
        params: IdParams,
        response: { 200: WebhookDelivery },
      },
    },
    async (request) =>
      testWebhookEndpoint(await organizationContext(deps, request), request.params.id, outbound),
  );
  app.post(
    '/webhook-deliveries/:id/replay',
    {
      schema: {
        tags,
        summary: 'Send a delivery’s event again, as a new delivery (same event id)',
        params: IdParams,
        response: { 201: WebhookDelivery },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await replayWebhookDelivery(await organizationContext(deps, request), request.params.id)),
  );
};
