import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, auditLog, eq, idempotencyKeys, memberships } from '@parley/db';
import { createHarness, type Harness, type SignedInUser } from '../../testing/harness.js';
import { addMember } from '../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const withKey = (key: string) => ({ 'idempotency-key': key });
// Agents are the example: creating one is a POST whose response holds no secret.
const keyBody = (name: string) => ({ name });

async function keyNames(owner: SignedInUser): Promise<string[]> {
  const response = await owner.client.get('/api/v1/agents?limit=100');
  return response.body.data.map((k: { name: string }) => k.name);
}

describe('Idempotency-Key', () => {
  it('a repeat with the same key replays the first response and creates nothing new', async () => {
    const owner = await h.signup('replay');
    const first = await owner.client.post('/api/v1/agents', keyBody('deploy'), withKey('create-deploy-1'));
    const second = await owner.client.post('/api/v1/agents', keyBody('deploy'), withKey('create-deploy-1'));
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(second.body.id).toBe(first.body.id);
    expect(await keyNames(owner)).toEqual(['deploy']);
    const audits = await h.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.organizationId, owner.organizationId), eq(auditLog.action, 'agent.create')));
    expect(audits).toHaveLength(1);
  });

  it('the same key with a different request answers 422 idempotency_key_reused', async () => {
    const owner = await h.signup('reuse');
    expect((await owner.client.post('/api/v1/agents', keyBody('a'), withKey('k'))).status).toBe(201);
    const other = await owner.client.post('/api/v1/agents', keyBody('b'), withKey('k'));
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    const otherPath = await owner.client.post('/api/v1/organizations', { name: 'x' }, withKey('k'));
    expect(otherPath.body.error.code).toBe('idempotency_key_reused');
    expect(await keyNames(owner)).toEqual(['a']);
  });

  it('without the header two identical requests create two keys', async () => {
    const owner = await h.signup('plain');
    expect((await owner.client.post('/api/v1/agents', keyBody('twice'))).status).toBe(201);
    const again = await owner.client.post('/api/v1/agents', keyBody('twice'));
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await keyNames(owner)).toEqual(['twice', 'twice']);
  });

  it('concurrent duplicates run once: the other waits its turn (409) or replays', async () => {
    const owner = await h.signup('race');
    const send = () => owner.client.post('/api/v1/agents', keyBody('raced'), withKey('race-1'));
    const responses = await Promise.all([send(), send(), send()]);
    const fresh = responses.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
    expect(fresh).toHaveLength(1);
    for (const r of responses.filter((x) => x !== fresh[0])) {
      if (r.status === 409) expect(r.body.error.code).toBe('conflict');
      else
        expect([r.status, r.headers['idempotent-replayed'], r.body]).toEqual([201, 'true', fresh[0]?.body]);
    }
    expect(await keyNames(owner)).toEqual(['raced']);
  });

  it('a key held by a request still running answers 409; one held past the in-flight timeout is taken over', async () => {
    const owner = await h.signup('inflight');
    // A reservation as a running request leaves it (status 0, no response yet).
    const hold = (key: string, minutesAgo: number) =>
      h.database.db.insert(idempotencyKeys).values({
        organizationId: owner.organizationId,
        key,
        requestHash: 'another request',
        statusCode: 0,
        createdAt: new Date(Date.now() - minutesAgo * 60_000),
      });
    await hold('busy', 0);
    const busy = await owner.client.post('/api/v1/agents', keyBody('busy'), withKey('busy'));
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('conflict');
    await hold('lost', 10);
    expect((await owner.client.post('/api/v1/agents', keyBody('lost'), withKey('lost'))).status).toBe(201);
    expect(await keyNames(owner)).toEqual(['lost']);
  });

  it('forgets keys after 24 hours', async () => {
    const owner = await h.signup('expiry');
    await h.database.db.insert(idempotencyKeys).values({
      organizationId: owner.organizationId,
      key: 'old',
      requestHash: 'a request from yesterday',
      statusCode: 201,
      responseBody: { contentType: 'application/json; charset=utf-8', body: '{"stale":true}' },
      createdAt: new Date(Date.now() - 25 * 3600_000),
    });
    const response = await owner.client.post('/api/v1/agents', keyBody('fresh'), withKey('old'));
    expect(response.status).toBe(201);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.body.name).toBe('fresh');
    const replay = await owner.client.post('/api/v1/agents', keyBody('fresh'), withKey('old'));
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(response.body);
  });

  it('keys are per organization and per caller: a colleague reusing one gets 422, not the response', async () => {
    const owner = await h.signup('scoped');
    const colleague = await addMember(h, owner, 'admin');
    const first = await owner.client.post('/api/v1/agents', keyBody('mine'), withKey('shared'));
    expect(first.status).toBe(201);
    const stolen = await colleague.client.post('/api/v1/agents', keyBody('mine'), withKey('shared'));
    expect(stolen.status).toBe(422);
    expect(stolen.body.error.code).toBe('idempotency_key_reused');
    expect(JSON.stringify(stolen.body)).not.toContain(first.body.secret);

    const elsewhere = await h.signup('elsewhere');
    const own = await elsewhere.client.post('/api/v1/agents', keyBody('mine'), withKey('shared'));
    expect(own.status).toBe(201);
    expect(own.headers['idempotent-replayed']).toBeUndefined();
    expect(own.body.id).not.toBe(first.body.id);
  });

  it('refusals are not stored: after a 403 the same key runs again once the caller may', async () => {
    const owner = await h.signup('refused');
    const viewer = await addMember(h, owner, 'viewer');
    const denied = await viewer.client.post('/api/v1/agents', keyBody('later'), withKey('retry-me'));
    expect(denied.status).toBe(403);
    await h.database.db
      .update(memberships)
      .set({ role: 'admin' })
      .where(
        and(eq(memberships.organizationId, owner.organizationId), eq(memberships.userId, viewer.userId)),
      );
    const allowed = await viewer.client.post('/api/v1/agents', keyBody('later'), withKey('retry-me'));
    expect(allowed.status).toBe(201);
    expect(allowed.headers['idempotent-replayed']).toBeUndefined();
  });

  it('final client errors are replayed like successes', async () => {
    const missing = '01890000-0000-7000-8000-000000000000';
    const url = `/api/v1/admin/organizations/${missing}/suspend`;
    const first = await h.operator.client.post(url, { reason: 'x' }, withKey('suspend-missing'));
    expect(first.status).toBe(404);
    const second = await h.operator.client.post(url, { reason: 'x' }, withKey('suspend-missing'));
    expect(second.status).toBe(404);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
  });

  it('rejects a malformed key with 400 naming the header', async () => {
    const owner = await h.signup('malformed');
    for (const key of ['', 'x'.repeat(256), 'tab\there']) {
      const response = await owner.client.post('/api/v1/agents', keyBody('never'), withKey(key));
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.details).toEqual([
        { path: 'headers.idempotency-key', message: 'must be 1–255 printable ASCII characters' },
      ]);
    }
    expect((await owner.client.post('/api/v1/agents', keyBody('ok'), withKey('x'.repeat(255)))).status).toBe(
      201,
    );
    expect(await keyNames(owner)).toEqual(['ok']);
  });

  it('never keeps a response that sets a cookie: a replay could not restore the session', async () => {
    const user = await h.signup('cookie');
    const credentials = { email: user.email, password: 'correct horse battery' };
    for (let i = 0; i < 2; i++) {
      const login = await user.client.post('/api/v1/auth/login', credentials, withKey('login'));
      expect(login.status).toBe(200);
      expect(login.headers['idempotent-replayed']).toBeUndefined();
      expect(String(login.headers['set-cookie'])).toMatch(/parley_session=/);
    }
  });

  it('applies to authenticated POSTs only', async () => {
    const owner = await h.signup('only-posts');
    const read = await owner.client.get('/api/v1/agents', withKey('read'));
    const readAgain = await owner.client.get('/api/v1/agents', withKey('read'));
    expect(readAgain.headers['idempotent-replayed']).toBeUndefined();
    expect(readAgain.status).toBe(read.status);
    // Anonymous sign-ups have no organization to keep a key in: the header is ignored.
    for (const label of ['anon-1', 'anon-2']) {
      const response = await h.anonymous.post(
        '/api/v1/auth/signup',
        {
          email: `${label}@example.test`,
          password: 'correct horse battery',
          name: label,
          organizationName: label,
        },
        withKey('signup'),
      );
      expect(response.status).toBe(201);
    }
  });
});

describe('Idempotency-Key on responses that hold a one-time secret', () => {
  it('a retried API-key creation creates nothing new and never shows the secret again, nor stores it', async () => {
    const owner = await h.signup('secretive');
    const first = await owner.client.post(
      '/api/v1/api-keys',
      { name: 'ci', scopes: ['agents:read'] },
      withKey('mint-1'),
    );
    expect(first.status).toBe(201);
    const retry = await owner.client.post(
      '/api/v1/api-keys',
      { name: 'ci', scopes: ['agents:read'] },
      withKey('mint-1'),
    );
    expect(retry.status).toBe(409);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.error.details).toEqual({ id: first.body.id });
    expect(JSON.stringify(retry.body)).not.toContain(first.body.secret);
    const keys = await owner.client.get('/api/v1/api-keys');
    expect(keys.body.data).toHaveLength(1);
    const stored = await h.database.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.organizationId, owner.organizationId));
    expect(JSON.stringify(stored)).not.toContain(first.body.secret);
  });

  it('the same holds for invitation tokens', async () => {
    const owner = await h.signup('inviter');
    const body = { email: 'guest@example.test', role: 'viewer' };
    const first = await owner.client.post('/api/v1/invitations', body, withKey('invite-1'));
    const retry = await owner.client.post('/api/v1/invitations', body, withKey('invite-1'));
    expect([first.status, retry.status]).toEqual([201, 409]);
    const stored = await h.database.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.organizationId, owner.organizationId));
    expect(JSON.stringify(stored)).not.toContain(first.body.token);
  });
});
