import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

async function auditLogOf(owner: SignedInUser, query = '') {
  const response = await owner.client.get(`/api/v1/audit-log?limit=100${query}`);
  expect(response.status).toBe(200);
  return response.body.data as any[];
}

describe('GET /audit-log', () => {
  it('lists the organization’s mutations newest first with actor, action, target and client IP', async () => {
    const owner = await h.signup('trail');
    const bySession = await owner.client.post('/api/v1/api-keys', {
      name: 'by session',
      scopes: ['agents:read'],
    });
    const key = await h.apiKey(owner, ['admin']);
    const keyName = 'key admin';
    const byKey = await key.post('/api/v1/api-keys', { name: 'by key', scopes: ['calls:read'] });
    expect((await key.delete(`/api/v1/api-keys/${bySession.body.id}`)).status).toBe(200);

    const entries = await auditLogOf(owner);
    const keyActor = { type: 'api_key', id: expect.any(String), label: keyName };
    expect(entries.slice(0, 3)).toEqual([
      {
        id: expect.any(String),
        organizationId: owner.organizationId,
        actor: keyActor,
        action: 'api_key.revoke',
        target: { type: 'api_key', id: bySession.body.id },
        details: { name: 'by session' },
        clientIp: '127.0.0.1',
        createdAt: expect.any(String),
      },
      expect.objectContaining({
        actor: keyActor,
        action: 'api_key.create',
        target: { type: 'api_key', id: byKey.body.id },
        details: { name: 'by key', scopes: ['calls:read'] },
      }),
      expect.objectContaining({
        actor: { type: 'user', id: owner.userId, label: owner.email },
        action: 'api_key.create',
        details: { name: keyName, scopes: ['admin'] },
      }),
    ]);
    expect(entries.at(-1)).toMatchObject({
      action: 'user.signup',
      actor: { type: 'user', id: owner.userId, label: owner.email },
      target: { type: 'user', id: owner.userId },
    });
    const ids = entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort().reverse());
  });

  it('filters by action, target type and target id, and pages with a cursor', async () => {
    const owner = await h.signup('filters');
    const created = [];
    for (const name of ['one', 'two', 'three']) {
      created.push((await owner.client.post('/api/v1/api-keys', { name, scopes: ['agents:read'] })).body);
    }
    await owner.client.delete(`/api/v1/api-keys/${created[0].id}`);

    expect((await auditLogOf(owner, '&action=api_key.create')).map((e) => e.details.name)).toEqual([
      'three',
      'two',
      'one',
    ]);
    expect((await auditLogOf(owner, `&targetId=${created[0].id}`)).map((e) => e.action)).toEqual([
      'api_key.revoke',
      'api_key.create',
    ]);
    expect((await auditLogOf(owner, '&targetType=user')).map((e) => e.action)).toEqual(['user.signup']);
    expect(await auditLogOf(owner, '&action=api_key.create&targetId=nothing')).toEqual([]);

    const first = await owner.client.get('/api/v1/audit-log?action=api_key.create&limit=2');
    expect(first.body.data.map((e: any) => e.details.name)).toEqual(['three', 'two']);
    const second = await owner.client.get(
      `/api/v1/audit-log?action=api_key.create&limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body.data.map((e: any) => e.details.name)).toEqual(['one']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('rejects bad query parameters with field detail', async () => {
    const owner = await h.signup('bad-query');
    const response = await owner.client.get('/api/v1/audit-log?cursor=yesterday&limit=500&colour=red');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.details.map((d: any) => d.path)).toEqual(
      expect.arrayContaining(['querystring.cursor', 'querystring.limit']),
    );
  });

  it('is for owners, admins and keys with audit_log:read or admin; members, viewers and other keys get 403', async () => {
    const owner = await h.signup('roles');
    const asAdmin = await addMember(h, owner, 'admin');
    expect((await asAdmin.client.get('/api/v1/audit-log')).status).toBe(200);
    for (const role of ['member', 'viewer'] as const) {
      const denied = await (await addMember(h, owner, role)).client.get('/api/v1/audit-log');
      expect([role, denied.status, denied.body.error.code]).toEqual([role, 403, 'forbidden']);
    }
    for (const scopes of [['audit_log:read'], ['admin']]) {
      expect((await (await h.apiKey(owner, scopes)).get('/api/v1/audit-log')).status).toBe(200);
    }
    const narrow = await (await h.apiKey(owner, ['agents:read', 'members:read'])).get('/api/v1/audit-log');
    expect(narrow.status).toBe(403);
    expect(narrow.body.error.code).toBe('forbidden');
    expect((await h.anonymous.get('/api/v1/audit-log')).status).toBe(401);
  });

  it('never shows another organization’s rows, nor instance-wide ones', async () => {
    const alice = await h.signup('alice');
    const bob = await h.signup('bob');
    const bobKey = await h.apiKey(bob, ['admin']);
    const bobsKey = await bobKey.post('/api/v1/api-keys', { name: 'bob private', scopes: ['agents:read'] });
    await h.operator.client.patch('/api/v1/admin/settings', { maxOrganizationsPerUser: 20 });

    const aliceEntries = await auditLogOf(alice);
    expect(aliceEntries.length).toBeGreaterThan(0);
    expect(aliceEntries.every((e) => e.organizationId === alice.organizationId)).toBe(true);
    expect(await auditLogOf(alice, `&targetId=${bobsKey.body.id}`)).toEqual([]);
    const operatorEntries = await auditLogOf(h.operator);
    expect(operatorEntries.some((e) => e.action === 'instance_settings.update')).toBe(false);

    // Naming another organization is "not found", exactly like one that does not exist.
    const foreign = await alice.client.inOrganization(bob.organizationId).get('/api/v1/audit-log');
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('organization_not_found');
    const viaKey = await bobKey.inOrganization(alice.organizationId).get('/api/v1/audit-log');
    expect(viaKey.status).toBe(404);
    const bobEntries = (await bobKey.get('/api/v1/audit-log?limit=100')).body.data as any[];
    expect(bobEntries.map((e) => e.target.id)).toContain(bobsKey.body.id);
    expect(bobEntries.every((e) => e.organizationId === bob.organizationId)).toBe(true);
  });
});
