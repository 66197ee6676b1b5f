// /api/v1/tools through the HTTP API: creating, reading, listing, editing and deleting tools; the
// checks on a tool's schema, placeholders, credential and function name; the shared catalog and each
// organization's own settings for it; who may do what; and agents that name tools.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';
import { created, customCredential, fresh, lookupOrder } from '../../../testing/tools.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(() => h.close());

const publish = (body: unknown) => created(h.operator, body, '/api/v1/admin/tools');

describe('creating and reading tools', () => {
  it('answers a webhook tool with the one function it offers the model, and never a secret', async () => {
    const owner = await h.signup('webhook');
    const credentialId = await customCredential(owner, 'sk-shop-secret-never-shown-123');
    const body = lookupOrder({ webhook: { ...lookupOrder().webhook, credentialId } });
    const tool = await created(owner, body);
    expect(tool).toEqual({
      id: expect.any(String),
      kind: 'webhook',
      scope: 'organization',
      name: 'Order lookup',
      description: 'Looks up an order by its number',
      functionName: body.functionName,
      parameters: body.parameters,
      webhook: {
        url: 'https://shop.example.test/orders/{{order_id}}',
        method: 'GET',
        headers: { 'X-Shop': 'main' },
        credentialId,
        timeoutMs: 5000,
        retries: 0,
        waitingMessage: '',
        async: false,
      },
      mcp: null,
      builtin: null,
      functions: [
        {
          name: body.functionName,
          description: 'Looks up an order by its number',
          parameters: body.parameters,
        },
      ],
      discoveredAt: null,
      discoveryError: null,
      organizationSettings: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const read = await owner.client.get(`/api/v1/tools/${tool.id}`);
    expect(read.body).toEqual(tool);
    expect(JSON.stringify(read.body)).not.toContain('sk-shop-secret');
    const [row] = await auditRows(h.database, owner.organizationId, 'tool.create');
    expect(row).toMatchObject({ targetId: tool.id, details: { name: 'Order lookup', kind: 'webhook' } });
  });

  it('offers built-ins with the arguments schema Parley generates for them', async () => {
    const owner = await h.signup('builtins');
    const lead = await created(owner, {
      kind: 'builtin',
      name: 'Lead form',
      functionName: 'capture_lead',
      description: 'Records the caller’s details',
      builtin: {
        type: 'capture_lead',
        fields: [
          { name: 'email', type: 'email', required: true },
          { name: 'company_size', type: 'number', description: 'Employees' },
        ],
      },
    });
    expect(lead.functions).toEqual([
      {
        name: 'capture_lead',
        description: 'Records the caller’s details',
        parameters: {
          type: 'object',
          properties: {
            email: expect.objectContaining({ type: 'string', format: 'email', pattern: expect.any(String) }),
            company_size: { type: 'number', description: 'Employees' },
          },
          required: ['email'],
          additionalProperties: false,
        },
      },
    ]);
    const handOff = await created(owner, {
      kind: 'builtin',
      name: 'Human',
      functionName: 'hand_off',
      description: 'Hands the call to a person',
      builtin: { type: 'hand_off', number: '+14155550123' },
    });
    expect(handOff.functions[0].parameters.required).toEqual(['reason', 'summary']);
    const time = await created(owner, {
      kind: 'builtin',
      name: 'Clock',
      functionName: 'current_time',
      description: 'Tells the time',
      builtin: { type: 'current_time', timezone: 'Europe/Paris' },
    });
    expect(time.functions[0].parameters).toEqual({
      type: 'object',
      properties: {},
      additionalProperties: false,
    });
  });

  it('shows an MCP server with no functions until they are discovered', async () => {
    const owner = await h.signup('mcp');
    const server = await created(owner, {
      kind: 'mcp',
      name: 'CRM',
      mcp: { url: 'https://crm.example.test/mcp' },
    });
    expect(server).toMatchObject({
      kind: 'mcp',
      functionName: null,
      parameters: null,
      functions: [],
      discoveredAt: null,
      mcp: { url: 'https://crm.example.test/mcp', headers: {}, timeoutMs: 10_000 },
    });
  });

  it('lists its own tools and the catalog’s, filtered by kind and scope, newest first with a cursor', async () => {
    const owner = await h.signup('list');
    const first = await created(owner, lookupOrder());
    const second = await created(owner, {
      kind: 'mcp',
      name: 'CRM',
      mcp: { url: 'https://crm.example.test/mcp' },
    });
    const shared = await publish(lookupOrder({ name: 'Shared lookup' }));
    const ids = async (query: string) =>
      ((await owner.client.get(`/api/v1/tools${query}`)).body.data as { id: string }[]).map((t) => t.id);
    const all = await ids('?limit=100');
    expect(all).toEqual(expect.arrayContaining([first.id, second.id, shared.id]));
    expect(all.indexOf(shared.id)).toBeLessThan(all.indexOf(second.id));
    expect(await ids('?scope=organization')).toEqual([second.id, first.id]);
    expect(await ids('?scope=catalog&limit=100')).toContain(shared.id);
    expect(await ids('?scope=catalog&limit=100')).not.toContain(first.id);
    expect(await ids('?scope=organization&kind=mcp')).toEqual([second.id]);
    const page = await owner.client.get('/api/v1/tools?scope=organization&limit=1');
    expect(page.body.data.map((t: { id: string }) => t.id)).toEqual([second.id]);
    const next = await owner.client.get(
      `/api/v1/tools?scope=organization&limit=1&cursor=${page.body.nextCursor}`,
    );
    expect(next.body).toEqual({ data: [expect.objectContaining({ id: first.id })], nextCursor: null });
  });
});

describe('what a tool must get right', () => {
  it('refuses a parameters schema that does not compile, naming `parameters`', async () => {
    const owner = await h.signup('schema');
    const response = await owner.client.post(
      '/api/v1/tools',
      lookupOrder({ parameters: { type: 'object', properties: { order_id: { type: 'strnig' } } } }),
    );
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.details).toEqual([
      { path: 'parameters', message: expect.stringContaining('not a valid JSON Schema') },
    ]);
    // A misspelt keyword would silently not apply: it is refused too.
    const misspelt = await owner.client.post(
      '/api/v1/tools',
      lookupOrder({ parameters: { type: 'object', requried: ['order_id'] } }),
    );
    expect(misspelt.body.error.details[0]).toEqual({
      path: 'parameters',
      message: expect.stringContaining('requried'),
    });
  });

  it('names every placeholder that is neither a parameter, a built-in nor a call variable', async () => {
    const owner = await h.signup('placeholders');
    const response = await owner.client.post(
      '/api/v1/tools',
      lookupOrder({
        webhook: {
          url: 'https://shop.example.test/orders/{{order_id}}?store={{store}}',
          method: 'POST',
          body: '{"caller": "{{customer.number}}", "call": "{{call.id}}", "vip": "{{var.vip}}", "note": "{{notes}}"}',
        },
      }),
    );
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([
      { path: 'webhook.url', message: expect.stringContaining('unknown placeholder {{store}}') },
      { path: 'webhook.body', message: expect.stringContaining('unknown placeholder {{notes}}') },
    ]);
    expect(response.body.error.message).toContain('{{store}}');
    const fixed = await owner.client.post(
      '/api/v1/tools',
      lookupOrder({
        webhook: {
          url: 'https://shop.example.test/orders/{{order_id}}',
          method: 'POST',
          body: '{"caller": "{{customer.number}}", "call": "{{call.id}}", "vip": "{{var.vip}}"}',
        },
      }),
    );
    expect(fixed.status).toBe(201);
  });

  it('takes only a custom credential of its own organization', async () => {
    const owner = await h.signup('tool-credential');
    const other = await h.signup('tool-credential-other');
    const openai = await owner.client.post('/api/v1/credentials', {
      name: 'OpenAI',
      provider: 'openai',
      values: { apiKey: 'sk-openai-0123456789abcdef' },
    });
    const withOpenai = await owner.client.post(
      '/api/v1/tools',
      lookupOrder({ webhook: { url: 'https://shop.example.test/x', credentialId: openai.body.id } }),
    );
    expect(withOpenai.status).toBe(422);
    expect(withOpenai.body.error).toMatchObject({
      code: 'invalid_reference',
      details: [{ path: 'webhook.credentialId', message: expect.stringContaining('custom') }],
    });
    const othersCredential = await customCredential(other);
    const withOthers = await owner.client.post(
      '/api/v1/tools',
      lookupOrder({ webhook: { url: 'https://shop.example.test/x', credentialId: othersCredential } }),
    );
    expect(withOthers.body.error.details).toEqual([
      { path: 'webhook.credentialId', message: 'no such credential in this organization' },
    ]);
  });

  it('keeps function names unique within the organization, but not across organizations', async () => {
    const owner = await h.signup('names');
    const other = await h.signup('names-other');
    const tool = await created(owner, lookupOrder({ functionName: 'lookup_order' }));
    const again = await owner.client.post('/api/v1/tools', lookupOrder({ functionName: 'lookup_order' }));
    expect([again.status, again.body.error.code]).toEqual([409, 'tool_function_taken']);
    expect(
      (await other.client.post('/api/v1/tools', lookupOrder({ functionName: 'lookup_order' }))).status,
    ).toBe(201);
    const second = await created(owner, lookupOrder());
    const renamed = await owner.client.patch(`/api/v1/tools/${second.id}`, { functionName: 'lookup_order' });
    expect(renamed.body.error.code).toBe('tool_function_taken');
    // Renaming a tool to its own name is no clash.
    expect(
      (await owner.client.patch(`/api/v1/tools/${tool.id}`, { functionName: 'lookup_order' })).status,
    ).toBe(200);
  });

  it('edits replace the fields given, are checked again, and keep to the tool’s kind', async () => {
    const owner = await h.signup('edit');
    const tool = await created(owner, lookupOrder());
    const edited = await owner.client.patch(`/api/v1/tools/${tool.id}`, {
      description: 'Finds an order',
      webhook: { url: 'https://shop.example.test/v2/orders/{{order_id}}' },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      description: 'Finds an order',
      parameters: tool.parameters,
      webhook: { url: 'https://shop.example.test/v2/orders/{{order_id}}', method: 'POST', headers: {} },
      functions: [{ name: tool.functionName, description: 'Finds an order' }],
    });
    // Dropping the parameter a placeholder uses is caught on edit too.
    const orphaned = await owner.client.patch(`/api/v1/tools/${tool.id}`, {
      parameters: { type: 'object', properties: {} },
    });
    expect(orphaned.body.error.details).toEqual([
      { path: 'webhook.url', message: expect.stringContaining('{{order_id}}') },
    ]);
    const wrongKind = await owner.client.patch(`/api/v1/tools/${tool.id}`, {
      mcp: { url: 'https://crm.example.test/mcp' },
    });
    expect([wrongKind.status, wrongKind.body.error.details]).toEqual([
      400,
      [{ path: 'mcp', message: 'a webhook tool has no mcp' }],
    ]);
    const [row] = await auditRows(h.database, owner.organizationId, 'tool.update');
    expect(row?.details).toMatchObject({ changed: ['description', 'webhook'] });
  });
});

describe('who may see and change tools', () => {
  it("answers 404 tool_not_found for another organization's tool, on every route, and never lists it", async () => {
    const owner = await h.signup('isolation');
    const other = await h.signup('isolation-other');
    const theirs = await created(other, lookupOrder());
    for (const response of [
      await owner.client.get(`/api/v1/tools/${theirs.id}`),
      await owner.client.patch(`/api/v1/tools/${theirs.id}`, { name: 'Mine now' }),
      await owner.client.delete(`/api/v1/tools/${theirs.id}`),
      await owner.client.request('PUT', `/api/v1/tools/${theirs.id}/settings`, { headers: {} }),
    ]) {
      expect([response.status, response.body.error.code]).toEqual([404, 'tool_not_found']);
    }
    const listed = await owner.client.get('/api/v1/tools?limit=100');
    expect(JSON.stringify(listed.body)).not.toContain(theirs.id);
    expect((await other.client.get(`/api/v1/tools/${theirs.id}`)).body.name).toBe('Order lookup');
  });

  it('lets members and viewers read tools but only admins write them; keys need the tools scopes', async () => {
    const owner = await h.signup('roles');
    const tool = await created(owner, lookupOrder());
    for (const role of ['member', 'viewer'] as const) {
      const { client } = await addMember(h, owner, role);
      expect((await client.get(`/api/v1/tools/${tool.id}`)).status).toBe(200);
      const refused = await client.post('/api/v1/tools', lookupOrder());
      expect([refused.status, refused.body.error.details]).toEqual([403, { required: 'tools:write' }]);
    }
    const { client: admin } = await addMember(h, owner, 'admin');
    expect((await admin.patch(`/api/v1/tools/${tool.id}`, { name: 'By admin' })).status).toBe(200);

    const agentsKey = await h.apiKey(owner, ['agents:write']);
    expect((await agentsKey.get('/api/v1/tools')).status).toBe(403);
    const readKey = await h.apiKey(owner, ['tools:read']);
    expect((await readKey.get(`/api/v1/tools/${tool.id}`)).status).toBe(200);
    expect((await readKey.post('/api/v1/tools', lookupOrder())).status).toBe(403);
    const writeKey = await h.apiKey(owner, ['tools:write']);
    expect((await writeKey.post('/api/v1/tools', lookupOrder())).status).toBe(201);
  });

  it('replays a POST with the same Idempotency-Key instead of creating the tool twice', async () => {
    const owner = await h.signup('idempotent');
    const body = lookupOrder();
    const first = await owner.client.post('/api/v1/tools', body, { 'idempotency-key': 'tool-1' });
    const second = await owner.client.post('/api/v1/tools', body, { 'idempotency-key': 'tool-1' });
    expect(first.status).toBe(201);
    expect([second.status, second.body.id]).toEqual([201, first.body.id]);
    expect(second.headers['idempotent-replayed']).toBe('true');
  });
});

describe('the shared catalog', () => {
  it('is published by instance administrators only, and names no credential', async () => {
    const owner = await h.signup('catalog-refused');
    const refused = await owner.client.post('/api/v1/admin/tools', lookupOrder());
    expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
    const credentialId = await customCredential(h.operator);
    const withCredential = await h.operator.client.post(
      '/api/v1/admin/tools',
      lookupOrder({ webhook: { url: 'https://shop.example.test/x', credentialId } }),
    );
    expect(withCredential.status).toBe(422);
    expect(withCredential.body.error.details[0]).toMatchObject({ path: 'webhook.credentialId' });
  });

  it('is seen by every organization, each with its own settings that no other sees', async () => {
    const shared = await publish(lookupOrder({ name: 'Shared CRM lookup' }));
    expect(shared.scope).toBe('catalog');
    const a = await h.signup('catalog-a');
    const b = await h.signup('catalog-b');
    const credentialA = await customCredential(a, 'secret-of-a-0123456789abcdef');
    const setA = await a.client.request('PUT', `/api/v1/tools/${shared.id}/settings`, {
      credentialId: credentialA,
      headers: { 'X-Account': 'a-account' },
    });
    expect(setA.status).toBe(200);
    expect(setA.body.organizationSettings).toEqual({
      credentialId: credentialA,
      headers: { 'X-Account': 'a-account' },
    });

    const seenByB = await b.client.get(`/api/v1/tools/${shared.id}`);
    expect(seenByB.status).toBe(200);
    expect(seenByB.body.organizationSettings).toBeNull();
    expect(JSON.stringify(seenByB.body)).not.toContain('a-account');
    expect(JSON.stringify((await b.client.get('/api/v1/tools?limit=100')).body)).not.toContain(credentialA);

    // B may not borrow A's credential, and its own settings leave A's untouched.
    const borrow = await b.client.request('PUT', `/api/v1/tools/${shared.id}/settings`, {
      credentialId: credentialA,
    });
    expect(borrow.status).toBe(422);
    expect(
      (
        await b.client.request('PUT', `/api/v1/tools/${shared.id}/settings`, {
          headers: { 'X-Account': 'b' },
        })
      ).body.organizationSettings,
    ).toEqual({ credentialId: null, headers: { 'X-Account': 'b' } });
    const seenByA = await a.client.get(`/api/v1/tools/${shared.id}`);
    expect(seenByA.body.organizationSettings).toEqual({
      credentialId: credentialA,
      headers: { 'X-Account': 'a-account' },
    });

    // Only the fields given change; null removes the credential.
    const cleared = await a.client.request('PUT', `/api/v1/tools/${shared.id}/settings`, {
      credentialId: null,
    });
    expect(cleared.body.organizationSettings).toEqual({
      credentialId: null,
      headers: { 'X-Account': 'a-account' },
    });
    const [row] = await auditRows(h.database, a.organizationId, 'tool.settings_update');
    expect(row?.details).toEqual({
      name: 'Shared CRM lookup',
      credentialId: credentialA,
      headers: ['X-Account'],
    });
  });

  it('is changed by instance administrators, not by organizations, which set only their settings', async () => {
    const shared = await publish(lookupOrder());
    const owner = await h.signup('catalog-edit');
    const own = await created(owner, lookupOrder());
    expect((await owner.client.patch(`/api/v1/tools/${shared.id}`, { name: 'Mine' })).status).toBe(403);
    expect((await owner.client.delete(`/api/v1/tools/${shared.id}`)).status).toBe(403);
    const ownSettings = await owner.client.request('PUT', `/api/v1/tools/${own.id}/settings`, {
      headers: {},
    });
    expect([ownSettings.status, ownSettings.body.error.code]).toEqual([409, 'conflict']);
    // An organization's tool is not the catalog's to edit, even for an instance administrator.
    expect((await h.operator.client.patch(`/api/v1/admin/tools/${own.id}`, { name: 'x' })).status).toBe(404);

    const renamed = await h.operator.client.patch(`/api/v1/admin/tools/${shared.id}`, {
      name: 'Renamed lookup',
    });
    expect(renamed.status).toBe(200);
    expect((await owner.client.get(`/api/v1/tools/${shared.id}`)).body.name).toBe('Renamed lookup');
    expect((await h.operator.client.delete(`/api/v1/admin/tools/${shared.id}`)).status).toBe(204);
    expect((await owner.client.get(`/api/v1/tools/${shared.id}`)).status).toBe(404);
  });
});

describe('agents and their tools', () => {
  it('refuses a tool that is missing or another organization’s, and a function the tool does not offer', async () => {
    const owner = await h.signup('agent-tools');
    const other = await h.signup('agent-tools-other');
    const mine = await created(owner, lookupOrder());
    const theirs = await created(other, lookupOrder());
    const response = await owner.client.post('/api/v1/agents', {
      name: 'Shop assistant',
      tools: [
        { toolId: mine.id, functions: [mine.functionName, 'cancel_order'] },
        { toolId: theirs.id },
        { toolId: '01900000-0000-7000-8000-000000000099' },
      ],
    });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('invalid_config');
    expect(response.body.error.details).toEqual([
      { path: 'tools.0.functions.1', message: expect.stringContaining('offers no function cancel_order') },
      { path: 'tools.1.toolId', message: 'no such tool in this organization or the shared catalog' },
      { path: 'tools.2.toolId', message: 'no such tool in this organization or the shared catalog' },
    ]);
  });

  it('refuses two tools offering the model the same function name', async () => {
    const owner = await h.signup('agent-clash');
    const mine = await created(owner, lookupOrder({ functionName: 'lookup' }));
    const shared = await publish(lookupOrder({ functionName: fresh('lookup') }));
    const clash = await publish(lookupOrder({ functionName: 'lookup' }));
    const ok = await owner.client.post('/api/v1/agents', {
      name: 'Fine',
      tools: [{ toolId: mine.id }, { toolId: shared.id }],
    });
    expect(ok.status).toBe(201);
    const refused = await owner.client.post('/api/v1/agents', {
      name: 'Clash',
      tools: [{ toolId: mine.id }, { toolId: clash.id }],
    });
    expect(refused.body.error.details).toEqual([
      { path: 'tools.1.toolId', message: expect.stringContaining('as tools.0 does') },
    ]);
  });

  it('will not delete a tool an agent uses, and names the agent', async () => {
    const owner = await h.signup('tool-in-use');
    const tool = await created(owner, lookupOrder());
    const agent = await owner.client.post('/api/v1/agents', {
      name: 'Uses it',
      tools: [{ toolId: tool.id, functions: [tool.functionName] }],
    });
    expect(agent.status).toBe(201);
    expect(agent.body.draft.tools).toEqual([{ toolId: tool.id, functions: [tool.functionName] }]);
    const refused = await owner.client.delete(`/api/v1/tools/${tool.id}`);
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([
      409,
      'tool_in_use',
      { agentIds: [agent.body.id] },
    ]);
    await owner.client.post(`/api/v1/agents/${agent.body.id}/publish`);
    // Still used by the published version once the draft lets it go.
    await owner.client.patch(`/api/v1/agents/${agent.body.id}`, { tools: [] });
    expect((await owner.client.delete(`/api/v1/tools/${tool.id}`)).status).toBe(409);
    await owner.client.post(`/api/v1/agents/${agent.body.id}/publish`);
    expect((await owner.client.delete(`/api/v1/tools/${tool.id}`)).status).toBe(204);
    expect((await owner.client.get(`/api/v1/tools/${tool.id}`)).status).toBe(404);
    const [row] = await auditRows(h.database, owner.organizationId, 'tool.delete');
    expect(row?.targetId).toBe(tool.id);
  });
});
