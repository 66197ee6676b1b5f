import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from '@parley/db';
import { createHarness, createApp, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe('operations endpoints', () => {
  it('healthz is alive and readyz reports a migrated database as ready', async () => {
    expect((await h.anonymous.get('/healthz')).body).toEqual({ status: 'ok' });
    expect(await h.anonymous.get('/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('readyz says why it is not ready when a migration is missing', async () => {
    await h.database.db.execute(sql`delete from parley_migrations`);
    try {
      const response = await h.anonymous.get('/readyz');
      expect(response.status).toBe(503);
      expect(response.body.reason).toMatch(/migrations pending: 0000_init/);
    } finally {
      await h.database.db.execute(
        sql`insert into parley_migrations (tag, hash) values ('0000_init', 'restored')`,
      );
    }
  });

  it('info gives version, role and uptime', async () => {
    const info = await h.anonymous.get('/api/v1/info');
    expect(info.body).toMatchObject({ name: 'parley', version: 'test', role: 'all' });
    expect(info.body.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('metrics are Prometheus text with request counts by route pattern', async () => {
    await h.anonymous.get('/healthz');
    const metrics = await h.anonymous.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.headers['content-type'])).toMatch(/text\/plain/);
    expect(metrics.body).toMatch(
      /parley_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/,
    );
    expect(metrics.body).toMatch(/parley_process_cpu_user_seconds_total/);
  });

  it('serves an OpenAPI 3.1 document describing the API, and the docs page', async () => {
    const spec = await h.anonymous.get('/api/openapi.json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toBe('3.1.0');
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/auth/login', '/api/v1/api-keys', '/api/v1/me']),
    );
    const createKey = spec.body.paths['/api/v1/api-keys'].post;
    expect(JSON.stringify(createKey.requestBody)).toContain('agents:write');
    const docs = await h.anonymous.get('/api/docs/');
    expect(docs.status).toBe(200);
    expect(String(docs.headers['content-type'])).toMatch(/text\/html/);
  });
});

describe('API hygiene', () => {
  it('every response carries a request id, and a sane caller-given one is kept', async () => {
    const generated = await h.anonymous.get('/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await h.anonymous.get('/healthz', { 'x-request-id': 'trace-abc.123' });
    expect(given.headers['x-request-id']).toBe('trace-abc.123');
    const error = await h.anonymous.get('/api/v1/me', { 'x-request-id': 'trace-err' });
    expect(error.body.error.requestId).toBe('trace-err');
  });

  it('malformed JSON is a 400 invalid_json, never a 500', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": "a@b.c", "password": ',
    });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.code).toBe('invalid_json');
  });

  it('a body over the limit is a 413 payload_too_large', async () => {
    const response = await h.anonymous.post('/api/v1/auth/login', {
      email: 'a@b.c',
      password: 'x'.repeat(100 * 1024),
    });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
  });

  it('a non-JSON content type is a 415', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(response.statusCode).toBe(415);
    expect(JSON.parse(response.body).error.code).toBe('unsupported_media_type');
  });

  it('unknown fields and bad values are rejected with every offending field named', async () => {
    const response = await h.anonymous.post('/api/v1/auth/signup', {
      email: 'not-an-email',
      password: 'short',
      name: 'Eve',
      organizationName: 'Eve Org',
      isInstanceAdmin: true,
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    const paths = response.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.email', 'body.password', 'body']));
    expect(JSON.stringify(response.body.error.details)).toContain('isInstanceAdmin');
  });

  it('a NUL character, which PostgreSQL cannot store, is a 400 naming the field', async () => {
    const owner = await h.signup('nul');
    const body = await owner.client.post('/api/v1/agents', { name: 'bad\u0000name' });
    expect(body.status).toBe(400);
    expect(body.body.error.details).toEqual([{ path: 'body.name', message: expect.stringMatching(/NUL/) }]);
    const nested = await owner.client.post('/api/v1/agents', { name: 'ok', metadata: { note: ['\u0000'] } });
    expect(nested.body.error.details[0].path).toBe('body.metadata.note.0');
    const query = await owner.client.get('/api/v1/audit-log?action=%00');
    expect([query.status, query.body.error.details[0].path]).toEqual([400, 'querystring.action']);
  });

  it('nesting deeper than any configuration needs is a 400, not a stack overflow', async () => {
    const owner = await h.signup('deep');
    const options = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const raw = await h.app.inject({
      method: 'POST',
      url: '/api/v1/agents',
      headers: {
        'content-type': 'application/json',
        cookie: owner.client.auth.cookie ?? '',
        'x-csrf-token': owner.client.auth.csrfToken ?? '',
      },
      payload: `{"name":"deep","llm":{"provider":"openai","model":"m","options":${options}}}`,
    });
    const response = { status: raw.statusCode, body: JSON.parse(raw.body) };
    expect(response.status).toBe(400);
    expect(response.body.error.details[0]).toEqual({
      path: expect.stringMatching(/^body\.llm\.options\.a\.a/),
      message: expect.stringMatching(/deeper than 32 levels/),
    });
  });

  it('an unknown route is a 404 in the error format', async () => {
    const response = await h.anonymous.get('/api/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ code: 'not_found' });
  });

  it('a malformed bearer token is 401 api_key_invalid, not anonymous', async () => {
    const response = await h.anonymous.get('/api/v1/api-keys', { authorization: 'Bearer prly_nope' });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('api_key_invalid');
  });
});

describe('login rate limit shared through Redis', () => {
  it('counts attempts across two server processes', async () => {
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    // A fresh namespace: counts from earlier runs on this Redis do not leak in.
    const rateLimitNamespace = `parley-test-${randomUUID()}:`;
    const a = await createHarness({ loginRateLimitPerMinute: 2, redis, rateLimitNamespace });
    const b = await createHarness({ loginRateLimitPerMinute: 2, redis, rateLimitNamespace });
    try {
      const ip = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.7`;
      const attempt = (harness: Harness) =>
        harness.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: ip,
          payload: { email: 'x@example.test', password: 'wrong password' },
        });
      expect((await attempt(a)).statusCode).toBe(401);
      expect((await attempt(b)).statusCode).toBe(401);
      // The third attempt, on the first process, sees the second process's count.
      expect((await attempt(a)).statusCode).toBe(429);
    } finally {
      await a.close();
      await b.close();
      await redis.quit();
    }
  });
});

describe('metrics token', () => {
  it('when configured, /metrics answers only a scraper that presents it', async () => {
    const guarded = await createApp({ metricsToken: 'scrape-me-please-0123' });
    try {
      expect((await guarded.client.get('/metrics')).status).toBe(401);
      expect(
        (await guarded.client.get('/metrics', { authorization: 'Bearer wrong-token-0123456' })).status,
      ).toBe(401);
      const ok = await guarded.client.get('/metrics', { authorization: 'Bearer scrape-me-please-0123' });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatch(/parley_http_requests_total/);
    } finally {
      await guarded.close();
    }
  });
});

describe('process roles', () => {
  it('a runtime process serves health, readiness, info and metrics but not the REST API', async () => {
    const runtime = await createApp({ role: 'runtime' });
    const api = await createApp({ role: 'api' });
    try {
      for (const url of ['/healthz', '/readyz', '/api/v1/info', '/metrics'])
        expect((await runtime.client.get(url)).status, url).toBe(200);
      expect((await runtime.client.get('/api/v1/info')).body.role).toBe('runtime');
      for (const url of ['/api/v1/auth/status', '/api/openapi.json', '/setup'])
        expect((await runtime.client.get(url)).status, url).toBe(404);
      expect((await api.client.get('/api/v1/auth/status')).status).toBe(200);
      expect((await api.client.get('/api/v1/info')).body.role).toBe('api');
    } finally {
      await runtime.close();
      await api.close();
    }
  });
});
