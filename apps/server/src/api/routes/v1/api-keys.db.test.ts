import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, eq } from '@parley/db';
import { createHarness, type Harness } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const inOneHour = () => new Date(Date.now() + 3600_000).toISOString();

describe('API keys', () => {
  it('shows the secret once, stores only its hash, and authenticates with it', async () => {
    const owner = await h.signup('keys');
    const created = await owner.client.post('/api/v1/api-keys', {
      name: 'deploy',
      scopes: ['agents:read', 'agents:write'],
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^prly_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.body.secret.startsWith(created.body.prefix)).toBe(true);

    const listed = await owner.client.get('/api/v1/api-keys');
    expect(listed.body.data).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret.slice(18));
    expect(listed.body.data[0]).not.toHaveProperty('secret');
    const [row] = await h.database.db.select().from(apiKeys).where(eq(apiKeys.id, created.body.id));
    expect(JSON.stringify(row)).not.toContain(created.body.secret.slice(18));

    const key = await h.apiKey(owner, ['agents:read']);
    expect((await key.get('/api/v1/agents')).status).toBe(200);
    const fetched = await owner.client.get(`/api/v1/api-keys/${created.body.id}`);
    expect(fetched.body).toMatchObject({
      name: 'deploy',
      scopes: ['agents:read', 'agents:write'],
      revokedAt: null,
    });
  });

  it('records when a key was last used', async () => {
    const owner = await h.signup('lastused');
    const key = await h.apiKey(owner, ['agents:read']);
    const before = (await owner.client.get('/api/v1/api-keys')).body.data[0];
    expect(before.lastUsedAt).toBeNull();
    await key.get('/api/v1/agents');
    const after = (await owner.client.get('/api/v1/api-keys')).body.data[0];
    expect(after.lastUsedAt).not.toBeNull();
  });

  it('a revoked key stops working at once; revoking again changes nothing', async () => {
    const owner = await h.signup('revoke');
    const created = await owner.client.post('/api/v1/api-keys', { name: 'temp', scopes: ['agents:read'] });
    const revoked = await owner.client.delete(`/api/v1/api-keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const attempt = await h.anonymous.get('/api/v1/agents', {
      authorization: `Bearer ${created.body.secret}`,
    });
    expect([attempt.status, attempt.body.error.code]).toEqual([401, 'api_key_invalid']);
    const again = await owner.client.delete(`/api/v1/api-keys/${created.body.id}`);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    expect(await auditRows(h.database, owner.organizationId, 'api_key.revoke')).toHaveLength(1);
  });

  it('an expired key is refused', async () => {
    const owner = await h.signup('expiry');
    const created = await owner.client.post('/api/v1/api-keys', {
      name: 'short',
      scopes: ['agents:read'],
      expiresAt: inOneHour(),
    });
    const bearer = { authorization: `Bearer ${created.body.secret}` };
    expect((await h.anonymous.get('/api/v1/agents', bearer)).status).toBe(200);
    h.deps.now = () => new Date(Date.now() + 2 * 3600_000);
    try {
      expect((await h.anonymous.get('/api/v1/agents', bearer)).body.error.code).toBe('api_key_invalid');
    } finally {
      delete h.deps.now;
    }
    const past = await owner.client.post('/api/v1/api-keys', {
      name: 'p',
      scopes: ['agents:read'],
      expiresAt: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(400);
    expect(past.body.error.details[0].path).toBe('body.expiresAt');
  });

  it('a key cannot grant scopes beyond its creator, nor outlive the key that made it', async () => {
    const owner = await h.signup('lineage');
    const narrow = await h.apiKey(owner, ['agents:write']);
    expect((await narrow.post('/api/v1/api-keys', { name: 'x', scopes: ['agents:read'] })).status).toBe(403);

    const parent = await owner.client.post('/api/v1/api-keys', {
      name: 'parent',
      scopes: ['admin'],
      expiresAt: inOneHour(),
    });
    const parentKey = h.anonymous.withApiKey(parent.body.secret);
    const forever = await parentKey.post('/api/v1/api-keys', { name: 'child', scopes: ['agents:read'] });
    expect([forever.status, forever.body.error.code]).toEqual([403, 'forbidden']);
    expect(forever.body.error.message).toMatch(/cannot outlive/);
    const child = await parentKey.post('/api/v1/api-keys', {
      name: 'child',
      scopes: ['agents:read'],
      expiresAt: new Date(Date.now() + 1800_000).toISOString(),
    });
    expect(child.status).toBe(201);
  });

  it('an admin key cannot invite or re-role people', async () => {
    const owner = await h.signup('people');
    const admin = await h.apiKey(owner, ['admin']);
    const invite = await admin.post('/api/v1/invitations', {
      email: 'new-admin@example.test',
      role: 'admin',
    });
    expect([invite.status, invite.body.error.code]).toEqual([403, 'forbidden']);
  });
});

describe('keys follow the member who made them', () => {
  it('removing a member revokes the keys they created', async () => {
    const owner = await h.signup('follow-owner');
    const admin = await addMember(h, owner, 'admin');
    const created = await admin.client.post('/api/v1/api-keys', {
      name: 'admin-made',
      scopes: ['agents:read'],
    });
    const bearer = { authorization: `Bearer ${created.body.secret}` };
    expect((await h.anonymous.get('/api/v1/agents', bearer)).status).toBe(200);
    expect((await owner.client.delete(`/api/v1/members/${admin.userId}`)).status).toBe(204);
    expect((await h.anonymous.get('/api/v1/agents', bearer)).body.error.code).toBe('api_key_invalid');
    const audit = await auditRows(h.database, owner.organizationId, 'api_key.revoke');
    expect(audit.map((r) => r.details)).toEqual([{ name: 'admin-made', reason: 'member_removed' }]);
  });

  it('lowering a role revokes only the keys that exceed the new role', async () => {
    const owner = await h.signup('demote-owner');
    const admin = await addMember(h, owner, 'admin');
    const broad = await admin.client.post('/api/v1/api-keys', {
      name: 'broad',
      scopes: ['credentials:write'],
    });
    const narrow = await admin.client.post('/api/v1/api-keys', { name: 'narrow', scopes: ['agents:write'] });
    expect((await owner.client.patch(`/api/v1/members/${admin.userId}`, { role: 'member' })).status).toBe(
      200,
    );
    const keys = (await owner.client.get('/api/v1/api-keys')).body.data as {
      name: string;
      revokedAt: string | null;
    }[];
    expect(keys.find((k) => k.name === 'broad')?.revokedAt).not.toBeNull();
    expect(keys.find((k) => k.name === 'narrow')?.revokedAt).toBeNull();
    expect(
      (await h.anonymous.get('/api/v1/agents', { authorization: `Bearer ${narrow.body.secret}` })).status,
    ).toBe(200);
    expect(
      (await h.anonymous.get('/api/v1/credentials', { authorization: `Bearer ${broad.body.secret}` })).status,
    ).toBe(401);
  });

  it('a key made by a key answers to the same person', async () => {
    const owner = await h.signup('chain-owner');
    const admin = await addMember(h, owner, 'admin');
    const parent = await admin.client.post('/api/v1/api-keys', { name: 'parent', scopes: ['admin'] });
    const child = await h.anonymous
      .withApiKey(parent.body.secret)
      .post('/api/v1/api-keys', { name: 'child', scopes: ['agents:read'] });
    expect(child.status).toBe(201);
    await owner.client.delete(`/api/v1/members/${admin.userId}`);
    expect(
      (await h.anonymous.get('/api/v1/agents', { authorization: `Bearer ${child.body.secret}` })).status,
    ).toBe(401);
  });
});
