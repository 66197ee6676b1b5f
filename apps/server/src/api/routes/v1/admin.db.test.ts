import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, and, auditLog, eq, isNull } from '@parley/db';
import { createHarness, type Client, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember } from '../../../testing/teams.js';

let h: Harness;
let admin: Client;
beforeAll(async () => {
  h = await createHarness();
  admin = h.operator.client;
});
afterAll(() => h.close());

async function allOrganizations(query = ''): Promise<any[]> {
  const response = await admin.get(`/api/v1/admin/organizations?limit=100${query}`);
  expect(response.status).toBe(200);
  return response.body.data;
}

async function createKey(owner: SignedInUser, name: string) {
  const response = await owner.client.post('/api/v1/api-keys', { name, scopes: ['agents:read'] });
  expect(response.status).toBe(201);
  return response.body as { id: string };
}

describe('listing organizations', () => {
  it('shows every organization with its members, live agents and unrevoked keys', async () => {
    const owner = await h.signup('usage');
    await addMember(h, owner, 'member');
    await createKey(owner, 'kept');
    const revoked = await createKey(owner, 'revoked');
    expect((await owner.client.delete(`/api/v1/api-keys/${revoked.id}`)).status).toBe(200);
    // Agents have no API in this change; rows as the agents service writes them.
    await h.database.db.insert(agents).values([
      { organizationId: owner.organizationId, name: 'live 1', draft: {} },
      { organizationId: owner.organizationId, name: 'live 2', draft: {} },
      { organizationId: owner.organizationId, name: 'deleted', draft: {}, deletedAt: new Date() },
    ]);

    const organizations = await allOrganizations();
    const mine = organizations.find((o) => o.id === owner.organizationId);
    expect(mine).toEqual({
      id: owner.organizationId,
      name: 'usage org',
      suspended: false,
      suspendedAt: null,
      suspendedReason: null,
      createdAt: expect.any(String),
      usage: { members: 2, agents: 2, apiKeys: 1 },
    });
    expect(organizations.map((o) => o.id)).toContain(h.operator.organizationId);
  });

  it('pages newest first with a cursor', async () => {
    const older = await h.signup('older');
    const newer = await h.signup('newer');
    const first = await admin.get('/api/v1/admin/organizations?limit=1');
    expect(first.status).toBe(200);
    expect(first.body.data.map((o: any) => o.id)).toEqual([newer.organizationId]);
    const second = await admin.get(`/api/v1/admin/organizations?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.data.map((o: any) => o.id)).toEqual([older.organizationId]);
  });

  it('rejects bad query parameters with field detail', async () => {
    const response = await admin.get('/api/v1/admin/organizations?suspended=maybe&limit=0');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.details.map((d: any) => d.path).sort()).toEqual([
      'querystring.limit',
      'querystring.suspended',
    ]);
  });
});

describe('suspending an organization', () => {
  it('stops its API keys and mutations, keeps reads, and reactivation restores everything', async () => {
    const owner = await h.signup('tenant');
    const key = await h.apiKey(owner, ['admin']);
    const existing = await createKey(owner, 'before suspension');

    const suspended = await admin.post(`/api/v1/admin/organizations/${owner.organizationId}/suspend`, {
      reason: 'unpaid invoices',
    });
    expect(suspended.status).toBe(200);
    expect(suspended.body).toMatchObject({
      id: owner.organizationId,
      suspended: true,
      suspendedAt: expect.any(String),
      suspendedReason: 'unpaid invoices',
    });

    const byKey = await key.get('/api/v1/api-keys');
    expect(byKey.status).toBe(403);
    expect(byKey.body.error.code).toBe('organization_suspended');
    const read = await owner.client.get('/api/v1/api-keys');
    expect(read.status).toBe(200);
    expect(read.body.data.map((k: any) => k.id)).toContain(existing.id);
    const write = await owner.client.post('/api/v1/api-keys', { name: 'x', scopes: ['agents:read'] });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('organization_suspended');
    const revoke = await owner.client.delete(`/api/v1/api-keys/${existing.id}`);
    expect(revoke.body.error.code).toBe('organization_suspended');

    expect((await allOrganizations('&suspended=true')).map((o) => o.id)).toContain(owner.organizationId);
    expect((await allOrganizations('&suspended=false')).map((o) => o.id)).not.toContain(owner.organizationId);

    const twice = await admin.post(`/api/v1/admin/organizations/${owner.organizationId}/suspend`, {
      reason: 'again',
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('conflict');

    const reactivated = await admin.post(`/api/v1/admin/organizations/${owner.organizationId}/reactivate`);
    expect(reactivated.status).toBe(200);
    expect(reactivated.body).toMatchObject({ suspended: false, suspendedAt: null, suspendedReason: null });
    expect((await key.get('/api/v1/api-keys')).status).toBe(200);
    expect(
      (await owner.client.post('/api/v1/api-keys', { name: 'after', scopes: ['agents:read'] })).status,
    ).toBe(201);
    expect((await owner.client.delete(`/api/v1/api-keys/${existing.id}`)).status).toBe(200);

    const again = await admin.post(`/api/v1/admin/organizations/${owner.organizationId}/reactivate`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');
  });

  it('writes both actions into the organization’s own audit log', async () => {
    const owner = await h.signup('audited');
    await admin.post(`/api/v1/admin/organizations/${owner.organizationId}/suspend`, {
      reason: 'abuse report',
    });
    await admin.post(`/api/v1/admin/organizations/${owner.organizationId}/reactivate`);
    const log = await owner.client.get('/api/v1/audit-log?targetType=organization');
    expect(log.status).toBe(200);
    expect(log.body.data).toEqual([
      expect.objectContaining({
        action: 'organization.reactivate',
        organizationId: owner.organizationId,
        actor: { type: 'user', id: h.operator.userId, label: h.operator.email },
        target: { type: 'organization', id: owner.organizationId },
        details: expect.objectContaining({ reason: 'abuse report' }),
        clientIp: '127.0.0.1',
      }),
      expect.objectContaining({
        action: 'organization.suspend',
        actor: expect.objectContaining({ label: h.operator.email }),
        details: { reason: 'abuse report' },
      }),
    ]);
  });

  it('answers 404 for an unknown organization and 400 with field detail for bad input', async () => {
    const unknown = '01890000-0000-7000-8000-000000000000';
    const missing = await admin.post(`/api/v1/admin/organizations/${unknown}/suspend`, { reason: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('organization_not_found');
    const missingReactivate = await admin.post(`/api/v1/admin/organizations/${unknown}/reactivate`);
    expect(missingReactivate.body.error.code).toBe('organization_not_found');

    const badId = await admin.post('/api/v1/admin/organizations/nope/suspend', { reason: 'x' });
    expect(badId.status).toBe(400);
    expect(badId.body.error.details).toEqual([expect.objectContaining({ path: 'params.id' })]);
    const emptyReason = await admin.post(`/api/v1/admin/organizations/${h.operator.organizationId}/suspend`, {
      reason: '  ',
    });
    expect(emptyReason.status).toBe(400);
    expect(emptyReason.body.error.details).toEqual([{ path: 'body.reason', message: 'must not be empty' }]);
    const extra = await admin.post(`/api/v1/admin/organizations/${h.operator.organizationId}/reactivate`, {
      force: true,
    });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('invalid_request');
  });
});

describe('instance settings', () => {
  it('turning sign-up off closes POST /auth/signup; null follows the configuration again', async () => {
    const initial = await admin.get('/api/v1/admin/settings');
    expect(initial.status).toBe(200);
    expect(initial.body).toEqual({
      signupEnabled: null,
      maxOrganizationsPerUser: 20,
      maxAgentsPerOrganization: 1000,
    });
    try {
      const off = await admin.patch('/api/v1/admin/settings', { signupEnabled: false });
      expect(off.status).toBe(200);
      expect(off.body).toEqual({ ...initial.body, signupEnabled: false });
      const refused = await h.anonymous.post('/api/v1/auth/signup', {
        email: 'closed@example.test',
        password: 'correct horse battery',
        name: 'Closed',
        organizationName: 'Closed',
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('signup_disabled');
      expect((await h.anonymous.get('/api/v1/auth/status')).body.signupEnabled).toBe(false);

      // A partial update leaves the other settings alone.
      const limits = await admin.patch('/api/v1/admin/settings', { maxAgentsPerOrganization: 50 });
      expect(limits.body).toEqual({ ...initial.body, signupEnabled: false, maxAgentsPerOrganization: 50 });
    } finally {
      const restored = await admin.patch('/api/v1/admin/settings', {
        signupEnabled: null,
        maxAgentsPerOrganization: 1000,
      });
      expect(restored.body).toEqual(initial.body);
    }
    expect((await h.signup('open-again')).userId).toBeDefined();
  });

  it('rejects unknown fields and bad values with field detail', async () => {
    const response = await admin.patch('/api/v1/admin/settings', {
      signupEnabled: 'no',
      maxOrganizationsPerUser: 0,
      colour: 'blue',
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: any) => d.path).sort()).toEqual([
      'body',
      'body.maxOrganizationsPerUser',
      'body.signupEnabled',
    ]);
    expect((await admin.get('/api/v1/admin/settings')).body.maxOrganizationsPerUser).toBe(20);
  });

  it('records each change as an instance-wide audit row', async () => {
    const before = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'instance_settings.update'), isNull(auditLog.organizationId)));
    await admin.patch('/api/v1/admin/settings', { maxOrganizationsPerUser: 20 });
    const after = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'instance_settings.update'), isNull(auditLog.organizationId)));
    expect(after).toHaveLength(before.length + 1);
    const [latest] = after.sort((a, b) => (a.id < b.id ? 1 : -1));
    expect(latest).toMatchObject({
      actorType: 'user',
      actorId: h.operator.userId,
      actorLabel: h.operator.email,
      targetType: 'instance_settings',
      details: { changes: { maxOrganizationsPerUser: 20 } },
      clientIp: '127.0.0.1',
    });
  });
});

describe('who may administer the instance', () => {
  const routes = (organizationId: string) =>
    [
      ['GET', '/api/v1/admin/organizations', undefined],
      ['POST', `/api/v1/admin/organizations/${organizationId}/suspend`, { reason: 'x' }],
      ['POST', `/api/v1/admin/organizations/${organizationId}/reactivate`, {}],
      ['GET', '/api/v1/admin/settings', undefined],
      ['PATCH', '/api/v1/admin/settings', { signupEnabled: false }],
    ] as const;

  it('refuses an ordinary user (403), any API key (403) and anonymous callers (401)', async () => {
    const user = await h.signup('not-admin');
    const operatorKey = await h.apiKey(h.operator, ['admin']);
    for (const [method, url, body] of routes(user.organizationId)) {
      const asUser = await user.client.request(method, url, body);
      expect([url, asUser.status, asUser.body.error?.code]).toEqual([url, 403, 'forbidden']);
      const asKey = await operatorKey.request(method, url, body);
      expect([url, asKey.status, asKey.body.error?.code]).toEqual([url, 403, 'forbidden']);
      const asAnonymous = await h.anonymous.request(method, url, body);
      expect([url, asAnonymous.status, asAnonymous.body.error?.code]).toEqual([url, 401, 'unauthenticated']);
    }
    const [org] = (await allOrganizations()).filter((o) => o.id === user.organizationId);
    expect(org.suspended).toBe(false);
    expect((await admin.get('/api/v1/admin/settings')).body.signupEnabled).toBeNull();
  });
});
