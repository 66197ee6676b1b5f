import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, organizations } from '@parley/db';
import { createHarness, type Harness } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const ids = (body: { data: Array<{ userId: string }> }) => body.data.map((m) => m.userId);

describe('listing members', () => {
  it('lists members in the order they joined, a page at a time', async () => {
    const owner = await h.signup('lister');
    const joined = [
      await addMember(h, owner, 'admin'),
      await addMember(h, owner, 'member'),
      await addMember(h, owner, 'viewer'),
    ];
    const first = await owner.client.get('/api/v1/members?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data[0]).toEqual({
      userId: owner.userId,
      email: owner.email,
      name: 'lister',
      role: 'owner',
      joinedAt: expect.any(String),
    });
    expect(ids(first.body)).toEqual([owner.userId, joined[0]!.userId]);
    expect(first.body.nextCursor).toBe(joined[0]!.userId);
    const second = await owner.client.get(`/api/v1/members?limit=2&cursor=${first.body.nextCursor}`);
    expect(ids(second.body)).toEqual([joined[1]!.userId, joined[2]!.userId]);
    expect(second.body.nextCursor).toBeNull();
    expect(second.body.data.map((m: { role: string }) => m.role)).toEqual(['member', 'viewer']);
  });

  it('a cursor naming someone who left is a 400, and a bad limit is rejected per field', async () => {
    const owner = await h.signup('cursor');
    const leaver = await addMember(h, owner, 'member');
    await addMember(h, owner, 'member');
    expect((await leaver.client.delete(`/api/v1/members/${leaver.userId}`)).status).toBe(204);
    const stale = await owner.client.get(`/api/v1/members?limit=1&cursor=${leaver.userId}`);
    expect(stale.status).toBe(400);
    expect(stale.body.error.details).toEqual([expect.objectContaining({ path: 'querystring.cursor' })]);
    const badLimit = await owner.client.get('/api/v1/members?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.details).toEqual([expect.objectContaining({ path: 'querystring.limit' })]);
  });

  it('an API key with members:read lists members but cannot change them', async () => {
    const owner = await h.signup('readkey');
    const member = await addMember(h, owner, 'member');
    const key = await h.apiKey(owner, ['members:read']);
    expect(ids((await key.get('/api/v1/members')).body)).toEqual([owner.userId, member.userId]);
    const change = await key.patch(`/api/v1/members/${member.userId}`, { role: 'admin' });
    expect(change.status).toBe(403);
    expect((await key.delete(`/api/v1/members/${member.userId}`)).status).toBe(403);
    const agentsKey = await h.apiKey(owner, ['agents:read']);
    expect((await agentsKey.get('/api/v1/members')).status).toBe(403);
  });
});

describe('changing roles', () => {
  it('an admin changes a member role, audited; the member gains the new powers', async () => {
    const owner = await h.signup('roles');
    const admin = await addMember(h, owner, 'admin');
    const member = await addMember(h, owner, 'member');
    expect(
      (await member.client.post('/api/v1/invitations', { email: 'x@example.test', role: 'viewer' })).status,
    ).toBe(403);
    const changed = await admin.client.patch(`/api/v1/members/${member.userId}`, { role: 'admin' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ userId: member.userId, role: 'admin', email: member.email });
    expect(
      (await member.client.post('/api/v1/invitations', { email: 'x@example.test', role: 'viewer' })).status,
    ).toBe(201);
    const [row] = await auditRows(h.database, owner.organizationId, 'member.update_role');
    expect(row).toMatchObject({
      actorId: admin.userId,
      targetId: member.userId,
      details: { role: { from: 'member', to: 'admin' } },
    });
  });

  it("nobody changes the owner's role, and owner is not a role one can assign", async () => {
    const owner = await h.signup('ownerrole');
    const admin = await addMember(h, owner, 'admin');
    for (const caller of [admin, owner]) {
      const response = await caller.client.patch(`/api/v1/members/${owner.userId}`, { role: 'admin' });
      expect(response.status).toBe(409);
      expect(response.body.error.code).toBe('last_owner');
    }
    const promote = await owner.client.patch(`/api/v1/members/${admin.userId}`, { role: 'owner' });
    expect(promote.status).toBe(400);
    expect(promote.body.error.details).toEqual([expect.objectContaining({ path: 'body.role' })]);
    const roles = (await owner.client.get('/api/v1/members')).body.data.map((m: { role: string }) => m.role);
    expect(roles).toEqual(['owner', 'admin']);
  });

  it('rejects unknown members, malformed ids and unknown fields', async () => {
    const owner = await h.signup('unknowns');
    const stranger = await h.signup('stranger');
    const missing = await owner.client.patch(`/api/v1/members/${stranger.userId}`, { role: 'viewer' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('member_not_found');
    const malformed = await owner.client.patch('/api/v1/members/not-a-uuid', { role: 'viewer' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details).toEqual([{ path: 'params.userId', message: 'must be a UUID' }]);
    const extra = await owner.client.patch(`/api/v1/members/${owner.userId}`, { role: 'viewer', x: 1 });
    expect(extra.status).toBe(400);
    // The stranger's own organization is untouched.
    expect((await stranger.client.get('/api/v1/me')).body.organizations[0].role).toBe('owner');
  });
});

describe('removing members and leaving', () => {
  it('an admin removes a member, who then loses access; audited', async () => {
    const owner = await h.signup('remover');
    const admin = await addMember(h, owner, 'admin');
    const member = await addMember(h, owner, 'member');
    expect((await admin.client.delete(`/api/v1/members/${member.userId}`)).status).toBe(204);
    expect(ids((await owner.client.get('/api/v1/members')).body)).toEqual([owner.userId, admin.userId]);
    const after = await member.client.get('/api/v1/organization');
    expect(after.status).toBe(404);
    expect(after.body.error.code).toBe('organization_not_found');
    const [row] = await auditRows(h.database, owner.organizationId, 'member.remove');
    expect(row).toMatchObject({
      actorId: admin.userId,
      targetId: member.userId,
      details: { role: 'member' },
    });
    const again = await admin.client.delete(`/api/v1/members/${member.userId}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('member_not_found');
  });

  it('members and viewers cannot remove others but may leave; the owner can do neither', async () => {
    const owner = await h.signup('leavers');
    const member = await addMember(h, owner, 'member');
    const viewer = await addMember(h, owner, 'viewer');
    const admin = await addMember(h, owner, 'admin');
    expect((await member.client.delete(`/api/v1/members/${viewer.userId}`)).status).toBe(403);
    expect((await viewer.client.delete(`/api/v1/members/${member.userId}`)).status).toBe(403);

    expect((await viewer.client.delete(`/api/v1/members/${viewer.userId}`)).status).toBe(204);
    expect((await member.client.delete(`/api/v1/members/${member.userId}`)).status).toBe(204);
    const viewerMe = await viewer.client.get('/api/v1/me');
    expect(viewerMe.body.organizations.map((o: { id: string }) => o.id)).toEqual([viewer.ownOrganizationId]);
    const [left] = await auditRows(h.database, owner.organizationId, 'member.leave');
    expect(left).toMatchObject({ actorId: viewer.userId, targetId: viewer.userId });

    const ownerLeaves = await owner.client.delete(`/api/v1/members/${owner.userId}`);
    expect(ownerLeaves.status).toBe(409);
    expect(ownerLeaves.body.error.code).toBe('last_owner');
    const adminRemovesOwner = await admin.client.delete(`/api/v1/members/${owner.userId}`);
    expect(adminRemovesOwner.status).toBe(409);
    expect(adminRemovesOwner.body.error.code).toBe('last_owner');
    expect(ids((await owner.client.get('/api/v1/members')).body)).toEqual([owner.userId, admin.userId]);
  });

  it('after a transfer the previous owner may leave', async () => {
    const owner = await h.signup('handover');
    const admin = await addMember(h, owner, 'admin');
    await owner.client.post('/api/v1/organization/transfer-ownership', { userId: admin.userId });
    expect((await owner.client.delete(`/api/v1/members/${owner.userId}`)).status).toBe(204);
    const members = (await admin.client.get('/api/v1/members')).body.data;
    expect(members).toEqual([expect.objectContaining({ userId: admin.userId, role: 'owner' })]);
  });

  it('nothing changes in a suspended organization, leaving included', async () => {
    const owner = await h.signup('frozen');
    const member = await addMember(h, owner, 'member');
    await h.database.db
      .update(organizations)
      .set({ suspendedAt: new Date() })
      .where(eq(organizations.id, owner.organizationId));
    const leave = await member.client.delete(`/api/v1/members/${member.userId}`);
    expect(leave.status).toBe(403);
    expect(leave.body.error.code).toBe('organization_suspended');
    const change = await owner.client.patch(`/api/v1/members/${member.userId}`, { role: 'viewer' });
    expect(change.body.error.code).toBe('organization_suspended');
    expect((await owner.client.get('/api/v1/members')).body.data).toHaveLength(2);
  });
});
