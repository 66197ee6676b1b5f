import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, instanceSettings, organizations } from '@parley/db';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember, auditRows, invite } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

async function setMaxOrganizationsPerUser(max: number | null) {
  if (max === null) {
    await h.database.db.delete(instanceSettings);
    return;
  }
  await h.database.db
    .insert(instanceSettings)
    .values({ key: 'settings', value: { maxOrganizationsPerUser: max } })
    .onConflictDoUpdate({ target: instanceSettings.key, set: { value: { maxOrganizationsPerUser: max } } });
}

describe('creating organizations', () => {
  it('a signed-in user creates another organization and owns it', async () => {
    const user = await h.signup('founder');
    const created = await user.client.post('/api/v1/organizations', { name: '  Second Org  ' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'Second Org',
      suspended: false,
      recordingRetentionDays: null,
      transcriptRetentionDays: null,
      createdAt: expect.any(String),
    });
    const me = await user.client.get('/api/v1/me');
    expect(me.body.organizations).toEqual([
      expect.objectContaining({ id: user.organizationId, role: 'owner' }),
      expect.objectContaining({ id: created.body.id, role: 'owner', name: 'Second Org' }),
    ]);
    const current = await user.client.inOrganization(created.body.id).get('/api/v1/organization');
    expect(current.body).toEqual(created.body);
    const [row] = await auditRows(h.database, created.body.id, 'organization.create');
    expect(row).toMatchObject({ actorId: user.userId, targetId: created.body.id });
  });

  it('enforces maxOrganizationsPerUser on owned organizations, not on memberships', async () => {
    const user = await h.signup('limited');
    const other = await h.signup('other');
    await addMemberByEmail(other, user);
    await setMaxOrganizationsPerUser(2);
    try {
      // Owns one (sign-up) and belongs to another: one more may be created, then no more.
      expect((await user.client.post('/api/v1/organizations', { name: 'Two' })).status).toBe(201);
      const refused = await user.client.post('/api/v1/organizations', { name: 'Three' });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('organization_limit_reached');
      expect(refused.body.error.details).toEqual({ limit: 2 });
      const me = await user.client.get('/api/v1/me');
      expect(me.body.organizations.map((o: { name: string }) => o.name)).not.toContain('Three');
    } finally {
      await setMaxOrganizationsPerUser(null);
    }
    expect((await user.client.post('/api/v1/organizations', { name: 'Three' })).status).toBe(201);
  });

  it('an API key cannot create organizations, even with the admin scope', async () => {
    const owner = await h.signup('keyholder');
    const key = await h.apiKey(owner, ['admin']);
    const response = await key.post('/api/v1/organizations', { name: 'By key' });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
  });

  it('rejects bad input with field-level details, and anonymous callers', async () => {
    const user = await h.signup('badinput');
    const empty = await user.client.post('/api/v1/organizations', { name: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details).toEqual([{ path: 'body.name', message: 'must not be empty' }]);
    const unknown = await user.client.post('/api/v1/organizations', { name: 'X', plan: 'gold' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('invalid_request');
    const missing = await user.client.post('/api/v1/organizations', {});
    expect(missing.body.error.details).toEqual([expect.objectContaining({ path: 'body.name' })]);
    expect((await h.anonymous.post('/api/v1/organizations', { name: 'X' })).status).toBe(401);
  });
});

/** Adds `user` to `owner`'s organization as a member (helper for users created by the test itself). */
async function addMemberByEmail(
  owner: SignedInUser,
  user: SignedInUser,
  role: 'member' | 'admin' = 'member',
) {
  const invitation = await invite(owner.client, user.email, role);
  const accepted = await user.client.post('/api/v1/invitations/accept', { token: invitation.token });
  expect(accepted.status).toBe(200);
}

describe('the current organization', () => {
  it('defaults to the first organization and follows the Parley-Organization header', async () => {
    const user = await h.signup('picker');
    const second = await user.client.post('/api/v1/organizations', { name: 'Picked' });
    expect((await user.client.get('/api/v1/organization')).body.id).toBe(user.organizationId);
    expect((await user.client.inOrganization(second.body.id).get('/api/v1/organization')).body.name).toBe(
      'Picked',
    );
    const malformed = await user.client.get('/api/v1/organization', { 'parley-organization': 'nope' });
    expect(malformed.status).toBe(404);
    expect(malformed.body.error.code).toBe('organization_not_found');
  });

  it('renames it (admin and owner) and audits the change', async () => {
    const owner = await h.signup('renamer');
    const admin = await addMember(h, owner, 'admin');
    const renamed = await admin.client.patch('/api/v1/organization', { name: 'New name' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('New name');
    expect((await owner.client.get('/api/v1/organization')).body.name).toBe('New name');
    const [row] = await auditRows(h.database, owner.organizationId, 'organization.update');
    expect(row).toMatchObject({
      actorId: admin.userId,
      details: { name: { from: 'renamer org', to: 'New name' } },
    });
    const bad = await owner.client.patch('/api/v1/organization', { name: 'x'.repeat(201) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([
      { path: 'body.name', message: 'must be at most 200 characters' },
    ]);
  });

  it('sets and clears the retention periods (admin and owner, 1–3650 days) and audits the change', async () => {
    const owner = await h.signup('retainer');
    const member = await addMember(h, owner, 'member');
    const set = await owner.client.patch('/api/v1/organization', {
      recordingRetentionDays: 30,
      transcriptRetentionDays: 7,
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      name: 'retainer org',
      recordingRetentionDays: 30,
      transcriptRetentionDays: 7,
    });
    expect((await member.client.get('/api/v1/organization')).body).toMatchObject({
      recordingRetentionDays: 30,
      transcriptRetentionDays: 7,
    });
    const [row] = await auditRows(h.database, owner.organizationId, 'organization.update');
    expect(row?.details).toEqual({
      recordingRetentionDays: { from: null, to: 30 },
      transcriptRetentionDays: { from: null, to: 7 },
    });

    // null keeps everything again; the field not sent stays as it was.
    const cleared = await owner.client.patch('/api/v1/organization', { recordingRetentionDays: null });
    expect(cleared.body).toMatchObject({ recordingRetentionDays: null, transcriptRetentionDays: 7 });

    for (const days of [0, 3651, 1.5, '30']) {
      const bad = await owner.client.patch('/api/v1/organization', { transcriptRetentionDays: days });
      expect(bad.status, `transcriptRetentionDays: ${days}`).toBe(400);
      expect(bad.body.error.details[0].path).toBe('body.transcriptRetentionDays');
    }
    expect((await owner.client.patch('/api/v1/organization', {})).status).toBe(400);

    const refused = await member.client.patch('/api/v1/organization', { transcriptRetentionDays: 1 });
    expect(refused.status).toBe(403);
    expect((await owner.client.get('/api/v1/organization')).body.transcriptRetentionDays).toBe(7);
  });

  it('a suspended organization can be read but not renamed', async () => {
    const owner = await h.signup('suspended');
    await h.database.db
      .update(organizations)
      .set({ suspendedAt: new Date() })
      .where(eq(organizations.id, owner.organizationId));
    expect((await owner.client.get('/api/v1/organization')).body.suspended).toBe(true);
    const refused = await owner.client.patch('/api/v1/organization', { name: 'Still here' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('organization_suspended');
  });
});

describe('deleting the organization', () => {
  it('the owner deletes it with everything in it; the audit row keeps its id', async () => {
    const owner = await h.signup('deleter');
    const member = await addMember(h, owner, 'member');
    const key = await h.apiKey(owner, ['agents:read']);
    await invite(owner.client, 'pending@example.test', 'viewer');
    const second = await owner.client.post('/api/v1/organizations', { name: 'Survivor' });

    const deleted = await owner.client.delete('/api/v1/organization');
    expect(deleted.status).toBe(204);

    expect((await member.client.get('/api/v1/organization')).status).toBe(404);
    expect((await owner.client.inOrganization(owner.organizationId).get('/api/v1/members')).status).toBe(404);
    expect((await key.get('/api/v1/organization')).status).toBe(401);
    const memberMe = await member.client.get('/api/v1/me');
    expect(memberMe.body.organizations.map((o: { id: string }) => o.id)).toEqual([member.ownOrganizationId]);
    // The owner keeps their other organization, which is now their first.
    expect((await owner.client.get('/api/v1/organization')).body.id).toBe(second.body.id);
    const [row] = await auditRows(h.database, owner.organizationId, 'organization.delete');
    expect(row).toMatchObject({ actorId: owner.userId, targetId: owner.organizationId });
  });
});

describe('transferring ownership', () => {
  it('makes the target the owner and the previous owner an admin, keeping exactly one owner', async () => {
    const owner = await h.signup('transferor');
    const member = await addMember(h, owner, 'member');
    const transfer = await owner.client.post('/api/v1/organization/transfer-ownership', {
      userId: member.userId,
    });
    expect(transfer.status).toBe(200);
    expect(transfer.body.owner).toMatchObject({ userId: member.userId, role: 'owner' });
    expect(transfer.body.previousOwner).toMatchObject({ userId: owner.userId, role: 'admin' });

    const members = await owner.client.get('/api/v1/members');
    const roles = Object.fromEntries(
      members.body.data.map((m: { userId: string; role: string }) => [m.userId, m.role]),
    );
    expect(roles).toEqual({ [owner.userId]: 'admin', [member.userId]: 'owner' });
    // The powers moved with the role.
    expect((await owner.client.delete('/api/v1/organization')).status).toBe(403);
    const back = await owner.client.post('/api/v1/organization/transfer-ownership', {
      userId: member.userId,
    });
    expect(back.status).toBe(403);
    const [row] = await auditRows(h.database, owner.organizationId, 'organization.transfer_ownership');
    expect(row).toMatchObject({
      actorId: owner.userId,
      targetId: member.userId,
      details: { from: owner.userId, to: member.userId },
    });
  });

  it('two transfers racing each other still leave exactly one owner', async () => {
    const owner = await h.signup('racer');
    const first = await addMember(h, owner, 'admin');
    const second = await addMember(h, owner, 'member');
    const results = await Promise.all([
      owner.client.post('/api/v1/organization/transfer-ownership', { userId: first.userId }),
      owner.client.post('/api/v1/organization/transfer-ownership', { userId: second.userId }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 403]);
    const winner = results.find((r) => r.status === 200)?.body.owner.userId;
    const members = (await owner.client.get('/api/v1/members')).body.data;
    const roles = Object.fromEntries(
      members.map((m: { userId: string; role: string }) => [m.userId, m.role]),
    );
    // The loser's target keeps the role they had; the previous owner is an admin.
    expect(roles).toEqual({
      [owner.userId]: 'admin',
      [first.userId]: winner === first.userId ? 'owner' : 'admin',
      [second.userId]: winner === second.userId ? 'owner' : 'member',
    });
  });

  it('the target must be a member of this organization', async () => {
    const owner = await h.signup('transferor2');
    const outsider = await h.signup('outsider');
    const notMember = await owner.client.post('/api/v1/organization/transfer-ownership', {
      userId: outsider.userId,
    });
    expect(notMember.status).toBe(404);
    expect(notMember.body.error.code).toBe('member_not_found');
    const self = await owner.client.post('/api/v1/organization/transfer-ownership', { userId: owner.userId });
    expect(self.status).toBe(409);
    const bad = await owner.client.post('/api/v1/organization/transfer-ownership', { userId: 'someone' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: 'body.userId', message: 'must be a UUID' }]);
    expect((await owner.client.get('/api/v1/me')).body.organizations[0].role).toBe('owner');
  });

  it('no API key can transfer ownership or delete the organization', async () => {
    const owner = await h.signup('keyowner');
    const member = await addMember(h, owner, 'member');
    const key = await h.apiKey(owner, ['admin']);
    const transfer = await key.post('/api/v1/organization/transfer-ownership', { userId: member.userId });
    expect(transfer.status).toBe(403);
    expect((await key.delete('/api/v1/organization')).status).toBe(403);
    expect((await owner.client.get('/api/v1/organization')).status).toBe(200);
  });
});

describe('role matrix', () => {
  type Role = 'owner' | 'admin' | 'member' | 'viewer';
  let owner: SignedInUser;
  let clients: Record<Role, SignedInUser>;
  let target: SignedInUser;

  beforeAll(async () => {
    owner = await h.signup('matrix-owner');
    clients = {
      owner,
      admin: await addMember(h, owner, 'admin'),
      member: await addMember(h, owner, 'member'),
      viewer: await addMember(h, owner, 'viewer'),
    };
    target = await addMember(h, owner, 'member', 'matrix-target');
  });

  // Expected statuses per role; the owner-only destructive routes are exercised for the owner above.
  const cases: Array<{
    name: string;
    call: (as: SignedInUser) => Promise<{ status: number }>;
    expected: Record<Role, number>;
  }> = [
    {
      name: 'GET /organization',
      call: (as) => as.client.get('/api/v1/organization'),
      expected: { owner: 200, admin: 200, member: 200, viewer: 200 },
    },
    {
      name: 'GET /members',
      call: (as) => as.client.get('/api/v1/members'),
      expected: { owner: 200, admin: 200, member: 200, viewer: 200 },
    },
    {
      name: 'PATCH /organization',
      call: (as) => as.client.patch('/api/v1/organization', { name: 'Matrix' }),
      expected: { owner: 200, admin: 200, member: 403, viewer: 403 },
    },
    {
      name: 'PATCH /members/:userId',
      call: (as) => as.client.patch(`/api/v1/members/${target.userId}`, { role: 'member' }),
      expected: { owner: 200, admin: 200, member: 403, viewer: 403 },
    },
    {
      name: 'POST /invitations',
      call: (as) => as.client.post('/api/v1/invitations', { email: 'matrix@example.test', role: 'viewer' }),
      expected: { owner: 201, admin: 201, member: 403, viewer: 403 },
    },
    {
      name: 'DELETE /invitations/:id',
      call: async (as) => {
        const invitation = await invite(owner.client, `revoke-${Math.random()}@example.test`, 'member');
        return as.client.delete(`/api/v1/invitations/${invitation.id}`);
      },
      expected: { owner: 204, admin: 204, member: 403, viewer: 403 },
    },
    {
      name: 'DELETE /members/:userId (someone else)',
      call: (as) => as.client.delete(`/api/v1/members/${target.userId}`),
      // Only non-managers are tried: a manager's success would remove the shared target.
      expected: { owner: 0, admin: 0, member: 403, viewer: 403 },
    },
    {
      name: 'POST /organization/transfer-ownership',
      call: (as) => as.client.post('/api/v1/organization/transfer-ownership', { userId: target.userId }),
      expected: { owner: 0, admin: 403, member: 403, viewer: 403 },
    },
    {
      name: 'DELETE /organization',
      call: (as) => as.client.delete('/api/v1/organization'),
      expected: { owner: 0, admin: 403, member: 403, viewer: 403 },
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${JSON.stringify(c.expected)}`, async () => {
      for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
        if (c.expected[role] === 0) continue;
        const response = await c.call(clients[role]);
        expect({ role, status: response.status }).toEqual({ role, status: c.expected[role] });
      }
    });
  }

  it('a denial says which permission is missing', async () => {
    const denied = await clients.viewer.client.patch('/api/v1/organization', { name: 'No' });
    expect(denied.body.error).toMatchObject({
      code: 'forbidden',
      details: { required: 'organization:update' },
    });
    // Nothing changed for the whole team.
    expect((await clients.owner.client.get('/api/v1/organization')).body.name).not.toBe('No');
    expect((await owner.client.get('/api/v1/members')).body.data).toHaveLength(5);
  });
});

describe('tenant isolation', () => {
  let a: SignedInUser;
  let b: SignedInUser;
  let bInvitationId: string;

  beforeAll(async () => {
    a = await h.signup('tenant-a');
    b = await h.signup('tenant-b');
    bInvitationId = (await invite(b.client, 'b-invitee@example.test', 'member')).id;
  });

  it("a user of A gets 404 on B's organization, members and invitations through the header", async () => {
    const asB = a.client.inOrganization(b.organizationId);
    for (const response of [
      await asB.get('/api/v1/organization'),
      await asB.patch('/api/v1/organization', { name: 'Hijacked' }),
      await asB.delete('/api/v1/organization'),
      await asB.get('/api/v1/members'),
      await asB.patch(`/api/v1/members/${b.userId}`, { role: 'viewer' }),
      await asB.delete(`/api/v1/members/${b.userId}`),
      await asB.get('/api/v1/invitations'),
      await asB.post('/api/v1/invitations', { email: 'x@example.test', role: 'admin' }),
      await asB.delete(`/api/v1/invitations/${bInvitationId}`),
      await asB.post('/api/v1/organization/transfer-ownership', { userId: a.userId }),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('organization_not_found');
    }
    expect((await b.client.get('/api/v1/organization')).body.name).toBe('tenant-b org');
  });

  it("an API key of A gets 404 with Parley-Organization: B, and A's own ids do not reach B's objects", async () => {
    const key = await h.apiKey(a, ['admin']);
    const asB = key.inOrganization(b.organizationId);
    expect((await asB.get('/api/v1/organization')).status).toBe(404);
    expect((await asB.get('/api/v1/members')).status).toBe(404);
    expect((await asB.get('/api/v1/invitations')).status).toBe(404);
    expect((await asB.delete(`/api/v1/invitations/${bInvitationId}`)).status).toBe(404);
    // Managing people is not for keys at all; A's owner, in A, finds B's objects missing like unknown ones.
    expect((await key.delete(`/api/v1/invitations/${bInvitationId}`)).body.error.code).toBe('forbidden');
    const revoke = await a.client.delete(`/api/v1/invitations/${bInvitationId}`);
    expect(revoke.status).toBe(404);
    expect(revoke.body.error.code).toBe('invitation_not_found');
    const patch = await a.client.patch(`/api/v1/members/${b.userId}`, { role: 'viewer' });
    expect(patch.body.error.code).toBe('member_not_found');
    const remove = await a.client.delete(`/api/v1/members/${b.userId}`);
    expect(remove.body.error.code).toBe('member_not_found');
    const invitations = await key.get('/api/v1/invitations');
    expect(invitations.body.data).toEqual([]);
    const members = await key.get('/api/v1/members');
    expect(members.body.data.map((m: { userId: string }) => m.userId)).toEqual([a.userId]);
    // B is untouched.
    expect((await b.client.get('/api/v1/invitations')).body.data.map((i: { id: string }) => i.id)).toEqual([
      bInvitationId,
    ]);
    expect((await b.client.get('/api/v1/members')).body.data[0]).toMatchObject({
      userId: b.userId,
      role: 'owner',
    });
  });
});
