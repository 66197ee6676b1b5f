import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, invitations, memberships } from '@parley/db';
import { createHarness, type Harness } from '../../../testing/harness.js';
import { addMember, auditRows, invite } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const pendingIds = async (client: { get: (url: string) => Promise<{ body: any }> }) =>
  (await client.get('/api/v1/invitations')).body.data.map((i: { id: string }) => i.id);

describe('inviting', () => {
  it('returns the token once with its link, keeps only its hash, and lists the invitation as pending', async () => {
    const owner = await h.signup('inviter');
    const before = Date.now();
    const created = await owner.client.post('/api/v1/invitations', {
      email: 'Newcomer@Example.test',
      role: 'member',
      expiresInHours: 24,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'newcomer@example.test', role: 'member', acceptedAt: null });
    expect(created.body.acceptUrl).toBe(`http://parley.test/invitations/accept?token=${created.body.token}`);
    const expiresAt = Date.parse(created.body.expiresAt);
    expect(expiresAt - before).toBeGreaterThanOrEqual(24 * 3600_000 - 1000);
    expect(expiresAt - before).toBeLessThanOrEqual(24 * 3600_000 + 60_000);

    const [row] = await h.database.db.select().from(invitations).where(eq(invitations.id, created.body.id));
    expect(JSON.stringify(row)).not.toContain(created.body.token);

    const listed = await owner.client.get('/api/v1/invitations');
    expect(listed.body.data).toEqual([
      {
        id: created.body.id,
        email: 'newcomer@example.test',
        role: 'member',
        expiresAt: created.body.expiresAt,
        acceptedAt: null,
        createdAt: created.body.createdAt,
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    const [audit] = await auditRows(h.database, owner.organizationId, 'invitation.create');
    expect(audit).toMatchObject({ actorId: owner.userId, targetId: created.body.id });
    expect(JSON.stringify(audit)).not.toContain(created.body.token);
  });

  it('inviting the same address again replaces the earlier link', async () => {
    const owner = await h.signup('reinviter');
    const invitee = await h.signup('reinvited');
    const first = await invite(owner.client, invitee.email, 'viewer');
    const second = await invite(owner.client, invitee.email, 'admin');
    expect(await pendingIds(owner.client)).toEqual([second.id]);
    const stale = await invitee.client.post('/api/v1/invitations/accept', { token: first.token });
    expect(stale.status).toBe(404);
    const accepted = await invitee.client.post('/api/v1/invitations/accept', { token: second.token });
    expect(accepted.body.role).toBe('admin');
  });

  it('refuses to invite someone who is already a member', async () => {
    const owner = await h.signup('dupe');
    const member = await addMember(h, owner, 'member');
    const response = await owner.client.post('/api/v1/invitations', {
      email: member.email.toUpperCase(),
      role: 'admin',
    });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('already_member');
  });

  it('rejects bad input field by field', async () => {
    const owner = await h.signup('badinvite');
    const response = await owner.client.post('/api/v1/invitations', {
      email: 'not an email',
      role: 'owner',
      expiresInHours: 0,
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'body.email',
      'body.expiresInHours',
      'body.role',
    ]);
    const extra = await owner.client.post('/api/v1/invitations', {
      email: 'a@example.test',
      role: 'member',
      token: 'mine',
    });
    expect(extra.status).toBe(400);
    expect(await pendingIds(owner.client)).toEqual([]);
  });

  it('members, viewers and keys (even admin keys) cannot invite or revoke', async () => {
    const owner = await h.signup('keys');
    const member = await addMember(h, owner, 'member');
    const viewer = await addMember(h, owner, 'viewer');
    const pending = await invite(owner.client, 'someone@example.test', 'member');
    const readKey = await h.apiKey(owner, ['members:read']);
    const adminKey = await h.apiKey(owner, ['admin']);
    for (const client of [member.client, viewer.client, readKey, adminKey]) {
      const created = await client.post('/api/v1/invitations', { email: 'x@example.test', role: 'viewer' });
      expect(created.status).toBe(403);
      expect((await client.delete(`/api/v1/invitations/${pending.id}`)).status).toBe(403);
      // Looking is allowed to everyone who may see the members.
      expect(await pendingIds(client)).toEqual([pending.id]);
    }
  });
});

describe('accepting', () => {
  it('adds the membership with the invited role, once; audited', async () => {
    const owner = await h.signup('host');
    const guest = await h.signup('guest');
    const invitation = await invite(owner.client, guest.email, 'viewer');
    const accepted = await guest.client.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({
      id: owner.organizationId,
      name: 'host org',
      role: 'viewer',
      suspended: false,
    });
    const me = await guest.client.get('/api/v1/me');
    expect(me.body.organizations).toEqual([
      expect.objectContaining({ id: guest.organizationId, role: 'owner' }),
      expect.objectContaining({ id: owner.organizationId, role: 'viewer' }),
    ]);
    expect((await guest.client.inOrganization(owner.organizationId).get('/api/v1/organization')).status).toBe(
      200,
    );
    expect(await pendingIds(owner.client)).toEqual([]);
    const [row] = await auditRows(h.database, owner.organizationId, 'invitation.accept');
    expect(row).toMatchObject({
      actorId: guest.userId,
      targetId: invitation.id,
      details: { role: 'viewer' },
    });

    const twice = await guest.client.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(twice.status).toBe(404);
    expect(twice.body.error.code).toBe('invitation_not_found');
  });

  it('matches the email case-insensitively', async () => {
    const owner = await h.signup('casehost');
    const guest = await h.signup('caseguest');
    const invitation = await invite(owner.client, guest.email.toUpperCase(), 'member');
    const accepted = await guest.client.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.role).toBe('member');
  });

  it("someone else's token is not found, and stays usable by its addressee", async () => {
    const owner = await h.signup('mismatch');
    const addressee = await h.signup('addressee');
    const thief = await h.signup('thief');
    const invitation = await invite(owner.client, addressee.email, 'admin');
    const stolen = await thief.client.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(stolen.status).toBe(404);
    expect(stolen.body.error.code).toBe('invitation_not_found');
    expect((await thief.client.inOrganization(owner.organizationId).get('/api/v1/organization')).status).toBe(
      404,
    );
    expect(await pendingIds(owner.client)).toEqual([invitation.id]);
    expect(
      (await addressee.client.post('/api/v1/invitations/accept', { token: invitation.token })).status,
    ).toBe(200);
  });

  it('an expired invitation is neither listed nor accepted', async () => {
    const owner = await h.signup('expiry');
    const guest = await h.signup('late');
    const invitation = await invite(owner.client, guest.email, 'member', 1);
    // Moving the expiry into the past stands in for waiting an hour.
    await h.database.db
      .update(invitations)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(invitations.id, invitation.id));
    expect(await pendingIds(owner.client)).toEqual([]);
    const late = await guest.client.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(late.status).toBe(404);
    expect(late.body.error.code).toBe('invitation_not_found');
    expect((await owner.client.delete(`/api/v1/invitations/${invitation.id}`)).status).toBe(404);
  });

  it('a revoked invitation stops working at once; revoking is audited and final', async () => {
    const owner = await h.signup('revoker');
    const guest = await h.signup('revoked');
    const invitation = await invite(owner.client, guest.email, 'member');
    expect((await owner.client.delete(`/api/v1/invitations/${invitation.id}`)).status).toBe(204);
    expect(await pendingIds(owner.client)).toEqual([]);
    const refused = await guest.client.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('invitation_not_found');
    const again = await owner.client.delete(`/api/v1/invitations/${invitation.id}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('invitation_not_found');
    const [row] = await auditRows(h.database, owner.organizationId, 'invitation.revoke');
    expect(row).toMatchObject({ actorId: owner.userId, targetId: invitation.id });
    const malformed = await owner.client.delete('/api/v1/invitations/123');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details).toEqual([{ path: 'params.id', message: 'must be a UUID' }]);
  });

  it('someone who is already a member gets 409 already_member and the invitation stays pending', async () => {
    const owner = await h.signup('already');
    const guest = await h.signup('alreadyguest');
    const invitation = await invite(owner.client, guest.email, 'admin');
    // The guest joined by another path in the meantime (e.g. a concurrent acceptance).
    await h.database.db
      .insert(memberships)
      .values({ organizationId: owner.organizationId, userId: guest.userId, role: 'viewer' });
    const response = await guest.client.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('already_member');
    expect(await pendingIds(owner.client)).toEqual([invitation.id]);
    const me = await guest.client.get('/api/v1/me');
    expect(me.body.organizations[1]).toMatchObject({ id: owner.organizationId, role: 'viewer' });
  });

  it('only a signed-in user accepts: API keys get 403, anonymous callers 401', async () => {
    const owner = await h.signup('keyaccept');
    const invitation = await invite(owner.client, 'keyed@example.test', 'member');
    const key = await h.apiKey(owner, ['admin']);
    const byKey = await key.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(byKey.status).toBe(403);
    expect(byKey.body.error.code).toBe('forbidden');
    const anonymous = await h.anonymous.post('/api/v1/invitations/accept', { token: invitation.token });
    expect(anonymous.status).toBe(401);
    const empty = await owner.client.post('/api/v1/invitations/accept', { token: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details).toEqual([{ path: 'body.token', message: 'must not be empty' }]);
    expect(await pendingIds(owner.client)).toEqual([invitation.id]);
  });
});

describe('invitations across organizations', () => {
  it("an admin of A cannot see or revoke B's invitations, by id or through the header", async () => {
    const a = await h.signup('inv-a');
    const b = await h.signup('inv-b');
    const bInvitation = await invite(b.client, 'b-only@example.test', 'admin');
    const aInvitation = await invite(a.client, 'a-only@example.test', 'viewer');
    expect(await pendingIds(a.client)).toEqual([aInvitation.id]);
    const byId = await a.client.delete(`/api/v1/invitations/${bInvitation.id}`);
    expect(byId.status).toBe(404);
    expect(byId.body.error.code).toBe('invitation_not_found');
    const viaHeader = await a.client.inOrganization(b.organizationId).get('/api/v1/invitations');
    expect(viaHeader.status).toBe(404);
    expect(viaHeader.body.error.code).toBe('organization_not_found');
    expect(await pendingIds(b.client)).toEqual([bInvitation.id]);
  });
});
