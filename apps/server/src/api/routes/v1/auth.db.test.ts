import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, eq } from '@parley/db';
import { createHarness, uniqueEmail, type Harness } from '../../../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe('setup, signup and login', () => {
  it('the setup link works once and makes the first user an owner and instance admin', async () => {
    const me = await h.operator.client.get('/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.user.isInstanceAdmin).toBe(true);
    expect(me.body.organizations).toEqual([expect.objectContaining({ role: 'owner', name: 'Operator Org' })]);
    const again = await h.anonymous.post('/api/v1/auth/setup', {
      token: 'anything',
      email: uniqueEmail(),
      password: 'correct horse battery',
      name: 'X',
      organizationName: 'Y',
    });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('setup_token_invalid');
    expect((await h.anonymous.get('/api/v1/auth/status')).body.needsSetup).toBe(false);
  });

  it('signup creates a user owning a new organization and signs them in', async () => {
    const user = await h.signup('alice');
    const me = await user.client.get('/api/v1/me');
    expect(me.body.user.email).toBe(user.email);
    expect(me.body.user.isInstanceAdmin).toBe(false);
    expect(me.body.organizations).toEqual([
      expect.objectContaining({ id: user.organizationId, role: 'owner' }),
    ]);
    const twice = await h.anonymous.post('/api/v1/auth/signup', {
      email: user.email.toUpperCase(),
      password: 'correct horse battery',
      name: 'again',
      organizationName: 'again',
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('email_taken');
  });

  it('two sign-ups racing for one email: one account, and the other a clean 409', async () => {
    const email = uniqueEmail('racer');
    const body = { email, password: 'correct horse battery', name: 'Racer', organizationName: 'Race' };
    const results = await Promise.all([
      h.anonymous.post('/api/v1/auth/signup', body),
      h.anonymous.post('/api/v1/auth/signup', body),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)?.body.error.code).toBe('email_taken');
  });

  it('logout is audited', async () => {
    const user = await h.signup('leaver');
    await user.client.post('/api/v1/auth/logout');
    const rows = await h.database.db.select().from(auditLog).where(eq(auditLog.actorId, user.userId));
    expect(rows.map((r) => r.action)).toContain('user.logout');
  });

  it('login answers the same for an unknown user and a wrong password', async () => {
    const user = await h.signup('bob');
    const unknown = await h.anonymous.post('/api/v1/auth/login', {
      email: uniqueEmail('nobody'),
      password: 'whatever it is',
    });
    const wrong = await h.anonymous.post('/api/v1/auth/login', {
      email: user.email,
      password: 'wrong password!',
    });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body.error.code).toBe(wrong.body.error.code);
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
    const ok = await h.anonymous.post('/api/v1/auth/login', {
      email: user.email,
      password: 'correct horse battery',
    });
    expect(ok.status).toBe(200);
    expect(ok.headers['set-cookie']).toEqual(
      expect.stringMatching(/parley_session=.*HttpOnly.*SameSite=Lax/i),
    );
  });

  it('a cookie-authenticated mutation without the CSRF token is refused', async () => {
    const user = await h.signup('carol');
    const withoutCsrf = await h.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { cookie: user.client.auth.cookie ?? '' },
      payload: { name: 'k', scopes: ['agents:read'] },
    });
    expect(withoutCsrf.statusCode).toBe(403);
    expect(JSON.parse(withoutCsrf.body).error.code).toBe('csrf_failed');
    expect((await user.client.post('/api/v1/api-keys', { name: 'k', scopes: ['agents:read'] })).status).toBe(
      201,
    );
  });

  it('logout ends the session', async () => {
    const user = await h.signup('dave');
    expect((await user.client.post('/api/v1/auth/logout')).status).toBe(204);
    const after = await user.client.get('/api/v1/me');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthenticated');
  });
});

describe('login rate limit', () => {
  it('stops guessing after the limit with 429 rate_limited', async () => {
    const limited = await createHarness({ loginRateLimitPerMinute: 3 });
    try {
      const attempt = () =>
        limited.anonymous.post('/api/v1/auth/login', { email: 'x@example.test', password: 'wrong password' });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await attempt()).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect((await attempt()).body.error.code).toBe('rate_limited');
    } finally {
      await limited.close();
    }
  });
});

describe('login rate limit per account', () => {
  it('guessing one account from many addresses is stopped too', async () => {
    const limited = await createHarness({ loginRateLimitPerMinute: 3 });
    try {
      const attempt = (n: number) =>
        limited.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: `192.0.2.${n}`,
          payload: { email: limited.operator.email, password: 'wrong password' },
        });
      const statuses = [];
      for (let i = 1; i <= 4; i++) statuses.push((await attempt(i)).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429]);
      // Another account from a fresh address is unaffected.
      const other = await limited.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: '192.0.2.99',
        payload: { email: 'someone-else@example.test', password: 'wrong password' },
      });
      expect(other.statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });
});
