import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Client, type Harness, type Response } from '../../../testing/harness.js';
import { addMember } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

/** Every route that names an agent (with a version 1), as (label, call). */
function agentRoutes(id: string): [string, (c: Client) => Promise<Response>][] {
  return [
    ['get', (c) => c.get(`/api/v1/agents/${id}`)],
    ['patch', (c) => c.patch(`/api/v1/agents/${id}`, { name: 'taken' })],
    ['publish', (c) => c.post(`/api/v1/agents/${id}/publish`)],
    ['versions', (c) => c.get(`/api/v1/agents/${id}/versions`)],
    ['version', (c) => c.get(`/api/v1/agents/${id}/versions/1`)],
    ['restore', (c) => c.post(`/api/v1/agents/${id}/versions/1/restore`)],
    ['delete', (c) => c.delete(`/api/v1/agents/${id}`)],
  ];
}

describe('tenant isolation', () => {
  it('a user and an API key of another organization get 404 on every route, and lists never leak', async () => {
    const a = await h.signup('agents-a');
    const b = await h.signup('agents-b');
    const id = (await a.client.post('/api/v1/agents', { name: 'Secret sauce', systemPrompt: 'A’s prompt' }))
      .body.id;
    const published = await a.client.post(`/api/v1/agents/${id}/publish`);
    expect(published.status).toBe(201);
    await b.client.post('/api/v1/agents', { name: 'B’s own' });
    const bKey = await h.apiKey(b, ['agents:write']);

    for (const client of [b.client, bKey]) {
      for (const [route, call] of agentRoutes(id)) {
        const response = await call(client);
        expect({ route, status: response.status, code: response.body.error?.code }).toEqual({
          route,
          status: 404,
          code: 'agent_not_found',
        });
      }
      const list = await client.get('/api/v1/agents');
      expect(list.body.data.map((x: { name: string }) => x.name)).toEqual(['B’s own']);
      expect(JSON.stringify(list.body)).not.toContain('A’s prompt');
    }
    // Nothing B tried changed A's agent.
    const after = await a.client.get(`/api/v1/agents/${id}`);
    expect(after.body).toMatchObject({
      name: 'Secret sauce',
      publishedVersion: 1,
      hasUnpublishedChanges: false,
    });
  });
});

describe('roles and key scopes', () => {
  it('a viewer reads agents but every mutation is 403; a member may edit and publish', async () => {
    const owner = await h.signup('agent-roles');
    const id = (await owner.client.post('/api/v1/agents', { name: 'A' })).body.id;
    await owner.client.post(`/api/v1/agents/${id}/publish`);
    const viewer = await addMember(h, owner, 'viewer');
    expect((await viewer.client.get(`/api/v1/agents/${id}`)).status).toBe(200);
    expect((await viewer.client.get(`/api/v1/agents/${id}/versions`)).body.data).toHaveLength(1);
    const mutations: [string, (c: Client) => Promise<Response>][] = [
      ['create', (c) => c.post('/api/v1/agents', { name: 'New' })],
      ...agentRoutes(id).filter(([route]) => !['get', 'versions', 'version'].includes(route)),
    ];
    for (const [route, call] of mutations) {
      const response = await call(viewer.client);
      expect({ route, status: response.status, code: response.body.error?.code }).toEqual({
        route,
        status: 403,
        code: 'forbidden',
      });
    }
    expect((await owner.client.get(`/api/v1/agents/${id}`)).body.name).toBe('A');

    const member = await addMember(h, owner, 'member');
    expect((await member.client.patch(`/api/v1/agents/${id}`, { name: 'B' })).status).toBe(200);
    const v2 = await member.client.post(`/api/v1/agents/${id}/publish`);
    expect(v2.status).toBe(201);
    expect(v2.body.publishedBy).toBe(member.userId);
  });

  it('an agents:read key cannot create; an agents:write key can; other scopes cannot read', async () => {
    const owner = await h.signup('agent-scopes');
    const reader = await h.apiKey(owner, ['agents:read']);
    const writer = await h.apiKey(owner, ['agents:write']);
    const calls = await h.apiKey(owner, ['calls:write']);
    const denied = await reader.post('/api/v1/agents', { name: 'Nope' });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'forbidden', details: { required: 'agents:write' } });
    const created = await writer.post('/api/v1/agents', { name: 'Via key' });
    expect(created.status).toBe(201);
    const published = await writer.post(`/api/v1/agents/${created.body.id}/publish`);
    // A key publishes as nobody in particular; the audit row names the key.
    expect(published.body.publishedBy).toBeNull();
    expect((await reader.get(`/api/v1/agents/${created.body.id}`)).status).toBe(200);
    expect((await reader.patch(`/api/v1/agents/${created.body.id}`, { name: 'x' })).status).toBe(403);
    expect((await calls.get('/api/v1/agents')).status).toBe(403);
  });

  it('the agent limit of the instance is enforced, counting only live agents', async () => {
    const owner = await h.signup('agent-limit');
    const first = (await owner.client.post('/api/v1/agents', { name: 'one' })).body.id;
    await owner.client.post('/api/v1/agents', { name: 'two' });
    const limited = await h.operator.client.patch('/api/v1/admin/settings', { maxAgentsPerOrganization: 2 });
    expect(limited.status).toBe(200);
    try {
      const third = await owner.client.post('/api/v1/agents', { name: 'three' });
      expect(third.status).toBe(403);
      expect(third.body.error).toMatchObject({
        code: 'agent_limit_reached',
        details: { limit: 'maxAgentsPerOrganization', max: 2 },
      });
      // Another organization has its own allowance.
      expect(
        (await (await h.signup('agent-limit-2')).client.post('/api/v1/agents', { name: 'x' })).status,
      ).toBe(201);
      await owner.client.delete(`/api/v1/agents/${first}`);
      expect((await owner.client.post('/api/v1/agents', { name: 'three' })).status).toBe(201);
    } finally {
      await h.operator.client.patch('/api/v1/admin/settings', { maxAgentsPerOrganization: 1000 });
    }
  });
});

describe('audit', () => {
  it('records create, update (field names only), publish, restore and delete', async () => {
    const owner = await h.signup('agent-audit');
    const id = (
      await owner.client.post('/api/v1/agents', { name: 'Audited', systemPrompt: 'first secret plan' })
    ).body.id;
    await owner.client.patch(`/api/v1/agents/${id}`, {
      systemPrompt: 'second secret plan',
      firstMessage: 'Hi',
    });
    await owner.client.post(`/api/v1/agents/${id}/publish`);
    await owner.client.post(`/api/v1/agents/${id}/versions/1/restore`);
    await owner.client.delete(`/api/v1/agents/${id}`);
    const log = await owner.client.get(`/api/v1/audit-log?targetId=${id}`);
    expect(log.status).toBe(200);
    expect(log.body.data.map((e: { action: string; details: object }) => [e.action, e.details])).toEqual([
      ['agent.delete', { name: 'Audited' }],
      ['agent.restore', { version: 1, changed: [] }],
      ['agent.publish', { version: 1 }],
      ['agent.update', { changed: ['firstMessage', 'systemPrompt'] }],
      ['agent.create', { name: 'Audited' }],
    ]);
    expect(log.body.data[0]).toMatchObject({
      actor: { type: 'user', id: owner.userId },
      target: { type: 'agent' },
    });
    expect(JSON.stringify(log.body)).not.toContain('secret plan');
  });

  it('a patch that changes nothing writes no audit row', async () => {
    const owner = await h.signup('agent-noop');
    const id = (await owner.client.post('/api/v1/agents', { name: 'Same' })).body.id;
    const same = await owner.client.patch(`/api/v1/agents/${id}`, { name: 'Same', language: 'en-US' });
    expect(same.status).toBe(200);
    const log = await owner.client.get(`/api/v1/audit-log?targetId=${id}`);
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual(['agent.create']);
  });
});
