// POST /api/v1/tools/:id/test and /refresh through the HTTP API: a webhook tool run against a local
// HTTP server (credential masked in what is shown, a private address refused without a request), an
// MCP server built with the official SDK discovered and called, built-ins as dry runs, and who may.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startLocalTestServer, type LocalTestServer } from '@parley/services/testing';
import { startMcpTestServer, type McpTestServer } from '@parley/testkit';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';
import { created, customCredential, fresh, lookupOrder } from '../../../testing/tools.js';

/** A name the operator allowed, resolving to the local test servers. */
const TOOL_HOST = 'tools.test';
const SECRET = 'sk-shop-secret-never-shown-123';
const MCP_TOKEN = 'mcp-token-0123456789abcdef';

let shop: LocalTestServer;
let shopPort: number;
let received: LocalTestServer['requests'];
let mcp: McpTestServer;
let h: Harness;

beforeAll(async () => {
  shop = await startLocalTestServer({
    hosts: [TOOL_HOST],
    handler: (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-shop': 'main' });
      res.end(JSON.stringify({ order: 'A-1', status: 'shipped' }));
    },
  });
  shopPort = shop.port;
  received = shop.requests;
  mcp = await startMcpTestServer({
    bearerToken: MCP_TOKEN,
    tools: [
      {
        name: 'find_customer',
        description: 'Finds a customer by phone number',
        inputSchema: { phone: z.string() },
        handler: (args) => `Customer ${String(args.phone)}: Ada Lovelace`,
      },
    ],
  });
  h = await createHarness({ outbound: { allowedHosts: shop.allowedHosts, lookup: shop.lookup } });
}, 60_000);
afterAll(async () => {
  await h.close();
  await mcp.close();
  await shop.close();
});

const orderLookup = (url: string, credentialId?: string) =>
  lookupOrder({ webhook: { url, method: 'POST', ...(credentialId ? { credentialId } : {}) } });

const mcpUrl = () => mcp.url.replace('127.0.0.1', TOOL_HOST);

describe('testing a webhook tool', () => {
  it('sends the request and shows it with the credential masked, and the answer', async () => {
    const owner = await h.signup('try-webhook');
    const credentialId = await customCredential(owner, SECRET);
    const tool = await created(
      owner,
      orderLookup(`http://${TOOL_HOST}:${shopPort}/orders/{{order_id}}`, credentialId),
    );
    const before = received.length;
    const response = await owner.client.post(`/api/v1/tools/${tool.id}/test`, {
      arguments: { order_id: 'A-1' },
      variables: { 'call.id': 'call-123' },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      outcome: { status: 'ok', code: null, content: expect.stringContaining('shipped') },
      request: {
        method: 'POST',
        url: `http://${TOOL_HOST}:${shopPort}/orders/A-1`,
        headers: { authorization: '••••', 'content-type': 'application/json' },
      },
      response: { status: 200, headers: { 'x-shop': 'main' }, truncated: false },
    });
    expect(JSON.parse(response.body.request.body)).toEqual({
      name: tool.functionName,
      arguments: { order_id: 'A-1' },
      call: { id: 'call-123', direction: null, agentId: null },
    });
    expect(JSON.parse(response.body.response.body)).toEqual({ order: 'A-1', status: 'shipped' });
    expect(JSON.stringify(response.body)).not.toContain(SECRET);
    // The server got the real secret.
    expect(received.slice(before)).toEqual([
      expect.objectContaining({
        path: '/orders/A-1',
        headers: expect.objectContaining({ authorization: `Bearer ${SECRET}` }),
      }),
    ]);
    // Audited, without the arguments.
    const [row] = await auditRows(h.database, owner.organizationId, 'tool.test');
    expect(row).toMatchObject({ targetId: tool.id, details: { function: tool.functionName, outcome: 'ok' } });
    expect(JSON.stringify(row?.details)).not.toContain('A-1');
  });

  it('sends nothing for arguments that break the schema, and says which', async () => {
    const owner = await h.signup('try-invalid');
    const tool = await created(owner, orderLookup(`http://${TOOL_HOST}:${shopPort}/orders`));
    const before = received.length;
    const response = await owner.client.post(`/api/v1/tools/${tool.id}/test`, { arguments: {} });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      outcome: { status: 'error', code: 'invalid_arguments', content: expect.stringContaining('order_id') },
      request: null,
      response: null,
    });
    expect(received.length).toBe(before);
  });

  it('refuses a private address the operator did not allow, and the server receives nothing', async () => {
    const owner = await h.signup('try-private');
    const tool = await created(owner, orderLookup(`http://127.0.0.1:${shopPort}/orders`));
    const before = received.length;
    const response = await owner.client.post(`/api/v1/tools/${tool.id}/test`, {
      arguments: { order_id: 'A-1' },
    });
    expect(response.status).toBe(200);
    expect(response.body.outcome).toMatchObject({
      status: 'error',
      content: expect.stringContaining('not allowed'),
    });
    expect(response.body.response).toBeNull();
    expect(received.length).toBe(before);
  });
});

describe('MCP tools', () => {
  async function mcpTool(owner: SignedInUser, secret: string) {
    const credentialId = await customCredential(owner, secret);
    return created(owner, { kind: 'mcp', name: 'CRM', mcp: { url: mcpUrl(), credentialId } });
  }

  it('are discovered when created and on refresh, and their functions can be tried', async () => {
    const owner = await h.signup('mcp-ok');
    const tool = await mcpTool(owner, MCP_TOKEN);
    expect(tool).toMatchObject({
      functions: [expect.objectContaining({ name: 'find_customer' })],
      discoveredAt: expect.any(String),
      discoveryError: null,
    });
    const refreshed = await owner.client.post(`/api/v1/tools/${tool.id}/refresh`);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.functions.map((f: { name: string }) => f.name)).toEqual(['find_customer']);

    const calls = mcp.calls.length;
    const tried = await owner.client.post(`/api/v1/tools/${tool.id}/test`, {
      function: 'find_customer',
      arguments: { phone: '+14155550123' },
    });
    expect(tried.status).toBe(200);
    expect(tried.body).toMatchObject({
      outcome: { status: 'ok', content: 'Customer +14155550123: Ada Lovelace' },
      request: { url: mcpUrl(), headers: { authorization: '••••' } },
    });
    expect(JSON.stringify(tried.body)).not.toContain(MCP_TOKEN);
    expect(mcp.calls.slice(calls)).toEqual([
      { name: 'find_customer', arguments: { phone: '+14155550123' }, authorization: `Bearer ${MCP_TOKEN}` },
    ]);
  });

  it('need a function to try, one the server offers', async () => {
    const owner = await h.signup('mcp-fn');
    const tool = await mcpTool(owner, MCP_TOKEN);
    for (const body of [{ arguments: {} }, { function: 'drop_tables', arguments: {} }]) {
      const response = await owner.client.post(`/api/v1/tools/${tool.id}/test`, body);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({
        code: 'invalid_request',
        details: [{ path: 'function', message: expect.stringContaining('find_customer') }],
      });
    }
  });

  it('record why discovery failed with a wrong token, never the token, and keep the functions', async () => {
    const owner = await h.signup('mcp-wrong');
    const tool = await mcpTool(owner, MCP_TOKEN);
    const wrong = 'wrong-token-abcdef0123456789';
    const wrongId = await customCredential(owner, wrong);
    const edited = await owner.client.patch(`/api/v1/tools/${tool.id}`, {
      mcp: { url: mcpUrl(), credentialId: wrongId },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.discoveryError).toMatch(/refused the credentials/);
    const refreshed = await owner.client.post(`/api/v1/tools/${tool.id}/refresh`);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({
      discoveryError: expect.stringContaining('HTTP 401'),
      functions: [expect.objectContaining({ name: 'find_customer' })],
    });
    expect(refreshed.body.discoveryError).not.toContain(wrong);
    expect((await owner.client.get(`/api/v1/tools/${tool.id}`)).body.discoveryError).toBe(
      refreshed.body.discoveryError,
    );
  });

  it('are the only tools refreshed: a webhook answers 409', async () => {
    const owner = await h.signup('refresh-webhook');
    const tool = await created(owner, orderLookup(`http://${TOOL_HOST}:${shopPort}/orders`));
    const response = await owner.client.post(`/api/v1/tools/${tool.id}/refresh`);
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('tool_not_mcp');
  });
});

describe('testing built-ins', () => {
  const builtin = (settings: Record<string, unknown>) => ({
    kind: 'builtin',
    name: 'Built-in',
    functionName: fresh(String(settings.type)),
    description: 'A built-in',
    builtin: settings,
  });

  it('shows the lead capture_lead would save, saving nothing', async () => {
    const owner = await h.signup('try-lead');
    const tool = await created(
      owner,
      builtin({ type: 'capture_lead', fields: [{ name: 'email', type: 'email', required: true }] }),
    );
    const tried = await owner.client.post(`/api/v1/tools/${tool.id}/test`, {
      arguments: { email: 'ada@example.com' },
    });
    expect(tried.body.outcome.status).toBe('ok');
    expect(JSON.parse(tried.body.outcome.content)).toEqual({
      dryRun: true,
      saved: false,
      lead: { email: 'ada@example.com' },
    });
    const invalid = await owner.client.post(`/api/v1/tools/${tool.id}/test`, {
      arguments: { email: 'nope' },
    });
    expect(invalid.body.outcome).toMatchObject({ status: 'error', code: 'invalid_arguments' });
    expect((await owner.client.get('/api/v1/leads')).body.data).toEqual([]);
  });

  it('shows where hand_off would transfer, and tells the time', async () => {
    const owner = await h.signup('try-handoff');
    const handOff = await created(owner, builtin({ type: 'hand_off', number: '+14155550199' }));
    const tried = await owner.client.post(`/api/v1/tools/${handOff.id}/test`, {
      arguments: { reason: 'billing', summary: 'Ada wants a refund' },
    });
    expect(JSON.parse(tried.body.outcome.content)).toMatchObject({
      dryRun: true,
      transferred: false,
      wouldTransferTo: '+14155550199',
      reason: 'billing',
    });
    const clock = await created(owner, builtin({ type: 'current_time', timezone: 'Europe/Paris' }));
    const time = await owner.client.post(`/api/v1/tools/${clock.id}/test`, {});
    expect(time.body.outcome.status).toBe('ok');
    expect(time.body.outcome.content).toContain('Europe/Paris');
  });
});

describe('who may test and refresh', () => {
  it('another organization’s tool is not found, and a viewer may not', async () => {
    const owner = await h.signup('try-owner');
    const webhook = await created(owner, orderLookup(`http://${TOOL_HOST}:${shopPort}/orders`));
    const server = await created(owner, { kind: 'mcp', name: 'CRM', mcp: { url: mcpUrl() } });
    const stranger = await h.signup('try-stranger');
    const viewer = await addMember(h, owner, 'viewer');
    const before = received.length;
    for (const [url, body] of [
      [`/api/v1/tools/${webhook.id}/test`, { arguments: { order_id: 'A-1' } }],
      [`/api/v1/tools/${server.id}/refresh`, {}],
    ] as const) {
      const foreign = await stranger.client.post(url, body);
      expect(foreign.status).toBe(404);
      expect(foreign.body.error.code).toBe('tool_not_found');
      const viewing = await viewer.client.post(url, body);
      expect(viewing.status).toBe(403);
    }
    expect(received.length).toBe(before);
  });
});
