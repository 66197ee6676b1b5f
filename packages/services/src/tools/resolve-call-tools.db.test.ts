// What a call is offered from the agent's tools: selection honoured, a catalog tool run with the
// organization's own secret and headers, an MCP server never discovered discovered once at the call's
// start (and recorded), and tools that cannot be used left out with a warning instead of failing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CreateToolBody, type CreateToolInput } from '@parley/contracts';
import { startMcpTestServer, type McpTestServer } from '@parley/testkit';
import type { OrgContext, ServiceContext } from '../context.js';
import { createCredential } from '../credentials/create-credential.js';
import { reachLocally } from '../testing/local-test-server.js';
import { createOrganizationsFixture, type OrganizationsFixture } from '../testing/organizations-fixture.js';
import { createTool as storeTool } from './create-tool.js';
import { deleteTool } from './delete-tool.js';
import { getTool } from './get-tool.js';
import { publishCatalogTool as publishTool } from './publish-catalog-tool.js';
import { recordToolDiscovery } from './record-tool-discovery.js';
import { resolveCallTools } from './resolve-call-tools.js';
import { setCatalogToolSettings } from './set-catalog-tool-settings.js';

// The test MCP server listens on 127.0.0.1, which the SSRF guard refuses: it is reached as mcp.test.
const reach = reachLocally(['mcp.test']);

let fixture: OrganizationsFixture;
let system: ServiceContext;
let acme: OrgContext;
let globex: OrgContext;
let mcp: McpTestServer;

beforeAll(async () => {
  fixture = await createOrganizationsFixture();
  system = fixture.system;
  acme = await fixture.organization('Acme');
  globex = await fixture.organization('Globex');
  mcp = await startMcpTestServer({
    tools: [
      {
        name: 'find_customer',
        description: 'Finds a customer',
        inputSchema: { phone: z.string() },
        handler: () => 'x',
      },
      { name: 'open_ticket', description: 'Opens a ticket', handler: () => 'y' },
    ],
  });
});
afterAll(async () => {
  await mcp?.close();
  await fixture?.close();
});

// The API parses bodies (defaults filled in) before the verbs see them; so do these tests.
const createTool = (ctx: OrgContext, input: CreateToolInput) => storeTool(ctx, CreateToolBody.parse(input));
const publishCatalogTool = (ctx: ServiceContext, input: CreateToolInput) =>
  publishTool(ctx, CreateToolBody.parse(input));

const secret = (ctx: OrgContext, value: string, headerName?: string) =>
  createCredential(ctx, {
    name: 'CRM key',
    provider: 'custom',
    values: { secret: value, ...(headerName ? { headerName } : {}) },
  });

const webhookTool = (ctx: OrgContext, functionName: string, extra: Record<string, unknown> = {}) =>
  createTool(ctx, {
    kind: 'webhook',
    name: functionName,
    functionName,
    description: 'Looks up an order',
    parameters: { type: 'object', properties: { order_id: { type: 'string' } } },
    webhook: { url: 'https://api.example.com/orders/{{order_id}}', method: 'GET', ...extra },
  });

describe('resolveCallTools', () => {
  it('gives each function ready to run, the credential decrypted into its header', async () => {
    const credential = await secret(acme, 'sk-live-1');
    const lookup = await webhookTool(acme, 'lookup_order', {
      headers: { 'X-Shop': 'acme' },
      credentialId: credential.id,
    });
    const time = await createTool(acme, {
      kind: 'builtin',
      name: 'Clock',
      functionName: 'what_time',
      description: 'Tells the time in Paris',
      builtin: { type: 'current_time', timezone: 'Europe/Paris' },
    });

    const { functions, warnings } = await resolveCallTools(acme, [
      { toolId: lookup.id },
      { toolId: time.id },
    ]);

    expect(warnings).toEqual([]);
    expect(functions).toEqual([
      {
        toolId: lookup.id,
        name: 'lookup_order',
        description: 'Looks up an order',
        parameters: { type: 'object', properties: { order_id: { type: 'string' } } },
        source: {
          kind: 'webhook',
          webhook: expect.objectContaining({
            url: 'https://api.example.com/orders/{{order_id}}',
            method: 'GET',
            headers: { 'X-Shop': 'acme' },
          }),
        },
        credentialHeader: { headerName: 'Authorization', value: 'Bearer sk-live-1' },
      },
      {
        toolId: time.id,
        name: 'what_time',
        description: 'Tells the time in Paris',
        parameters: { type: 'object', properties: {}, additionalProperties: false },
        source: { kind: 'builtin', builtin: { type: 'current_time', timezone: 'Europe/Paris' } },
      },
    ]);
  });

  it('offers only the selected functions of an MCP server', async () => {
    const server = await createTool(acme, {
      kind: 'mcp',
      name: 'CRM',
      mcp: { url: 'https://crm.example.test/mcp' },
    });
    await recordToolDiscovery(fixture.db, server.id, {
      functions: [
        { name: 'find_customer', description: 'Finds', parameters: { type: 'object' } },
        { name: 'open_ticket', description: 'Opens', parameters: { type: 'object' } },
      ],
    });
    const { functions, warnings } = await resolveCallTools(acme, [
      { toolId: server.id, functions: ['open_ticket', 'gone_since'] },
    ]);
    expect(functions.map((f) => [f.name, f.source.kind])).toEqual([['open_ticket', 'mcp']]);
    expect(warnings).toEqual([`tool ${server.id} no longer offers the selected function gone_since`]);
  });

  it('runs a catalog tool with the organization’s own secret and headers, never another’s', async () => {
    const catalog = await publishCatalogTool(system, {
      kind: 'webhook',
      name: 'Shared weather',
      functionName: 'weather',
      description: 'The weather',
      parameters: { type: 'object', properties: {} },
      webhook: {
        url: 'https://weather.example.com/now',
        headers: { 'X-Plan': 'free', 'X-Source': 'catalog' },
      },
    });
    const acmeKey = await secret(acme, 'acme-weather-key', 'X-Api-Key');
    await setCatalogToolSettings(acme, catalog.id, {
      credentialId: acmeKey.id,
      headers: { 'X-Plan': 'pro' },
    });
    const globexKey = await secret(globex, 'globex-weather-key');
    await setCatalogToolSettings(globex, catalog.id, { credentialId: globexKey.id, headers: {} });

    const [forAcme] = (await resolveCallTools(acme, [{ toolId: catalog.id }])).functions;
    expect(forAcme).toMatchObject({
      source: { kind: 'webhook', webhook: { headers: { 'X-Plan': 'pro', 'X-Source': 'catalog' } } },
      credentialHeader: { headerName: 'X-Api-Key', value: 'acme-weather-key' },
    });
    const [forGlobex] = (await resolveCallTools(globex, [{ toolId: catalog.id }])).functions;
    expect(forGlobex).toMatchObject({
      source: { webhook: { headers: { 'X-Plan': 'free', 'X-Source': 'catalog' } } },
      credentialHeader: { headerName: 'Authorization', value: 'Bearer globex-weather-key' },
    });
  });

  it('discovers an MCP server that never was, once, and records what it found', async () => {
    const server = await createTool(acme, {
      kind: 'mcp',
      name: 'Helpdesk',
      mcp: { url: `http://mcp.test:${mcp.port}/mcp` },
    });
    const at = new Date('2026-03-04T05:06:07.000Z');
    const { functions, warnings } = await resolveCallTools(
      acme,
      [{ toolId: server.id, functions: ['find_customer'] }],
      {
        ...reach,
        now: at,
      },
    );
    expect(warnings).toEqual([]);
    expect(functions).toEqual([
      expect.objectContaining({
        name: 'find_customer',
        parameters: expect.objectContaining({ properties: { phone: { type: 'string' } } }),
      }),
    ]);
    expect(await getTool(acme, server.id)).toMatchObject({
      discoveredAt: at.toISOString(),
      functions: [{ name: 'find_customer' }, { name: 'open_ticket' }],
    });
  });

  it('leaves out, with a warning, a server that cannot be discovered now and a tool deleted since', async () => {
    const unreachable = await createTool(acme, {
      kind: 'mcp',
      name: 'Down',
      // Not on the allow-list: the guard refuses the loopback address before any request.
      mcp: { url: `http://127.0.0.1:${mcp.port}/mcp` },
    });
    const deleted = await webhookTool(acme, 'cancel_order');
    await deleteTool(acme, deleted.id);
    const kept = await webhookTool(acme, 'track_order');
    const requestsBefore = mcp.requestCount;

    const { functions, warnings } = await resolveCallTools(
      acme,
      [{ toolId: unreachable.id }, { toolId: deleted.id }, { toolId: kept.id }],
      reach,
    );

    expect(functions.map((f) => f.name)).toEqual(['track_order']);
    expect(warnings).toEqual([
      `tool ${unreachable.id} is left out: its MCP server was never discovered and did not answer now (address_refused)`,
      `tool ${deleted.id} is left out: it no longer exists`,
    ]);
    expect(await getTool(acme, unreachable.id)).toMatchObject({
      discoveredAt: null,
      discoveryError: expect.any(String),
    });
    expect(mcp.requestCount).toBe(requestsBefore);
  });
});
