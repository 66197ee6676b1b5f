import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Client, type Harness, type Response } from '../../testing/harness.js';

const LIMIT = 3;

/** A refusal as a client sees it: 429, Retry-After within the minute, the standard error body. */
function expectRateLimited(response: Response) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.body.error).toMatchObject({
    code: 'rate_limited',
    message: expect.stringMatching(/retry in \d+ s/),
    details: { retryAfterSeconds: retryAfter },
    requestId: expect.any(String),
  });
}

/** Spends a whole budget: every request passes. */
async function spend(send: () => Promise<Response>) {
  for (let i = 0; i < LIMIT; i++) expect((await send()).status).toBe(200);
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ apiRateLimitPerMinute: LIMIT });
});
afterAll(() => h.close());

describe('API rate limits', () => {
  it('gives each API key of an organization its own budget', async () => {
    const owner = await h.signup('keys');
    const keyA: Client = await h.apiKey(owner, ['calls:read']);
    const keyB: Client = await h.apiKey(owner, ['calls:read']);
    const first = await keyA.get('/api/v1/calls');
    expect([first.headers['x-ratelimit-limit'], first.headers['x-ratelimit-remaining']]).toEqual(['3', '2']);
    await keyA.get('/api/v1/calls');
    expect((await keyA.get('/api/v1/calls')).status).toBe(200);
    expectRateLimited(await keyA.get('/api/v1/calls'));
    // Key B (and the owner's own session, which created both keys) still has budget left.
    expect((await keyB.get('/api/v1/calls')).status).toBe(200);
    expect((await owner.client.get('/api/v1/me')).status).toBe(200);
  });

  it('gives each signed-in user their own budget', async () => {
    const first = await h.signup('first');
    const second = await h.signup('second');
    await spend(() => first.client.get('/api/v1/me'));
    expectRateLimited(await first.client.get('/api/v1/me'));
    expect((await second.client.get('/api/v1/me')).status).toBe(200);
  });

  it('limits anonymous callers per client IP', async () => {
    const from = (remoteAddress: string) =>
      h.app.inject({ method: 'GET', url: '/api/v1/auth/status', remoteAddress });
    const asResponse = async (ip: string): Promise<Response> => {
      const response = await from(ip);
      return { status: response.statusCode, body: response.json(), headers: response.headers };
    };
    await spend(() => asResponse('10.1.1.1'));
    expectRateLimited(await asResponse('10.1.1.1'));
    expect((await asResponse('10.1.1.2')).status).toBe(200);
  });

  it('shares the counts of all processes through Redis', async () => {
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    // A fresh namespace: counts from earlier runs on this Redis do not leak in.
    const rateLimitNamespace = `parley-test-${randomUUID()}:`;
    const options = { apiRateLimitPerMinute: LIMIT, redis, rateLimitNamespace };
    const a = await createHarness(options);
    const b = await createHarness(options);
    try {
      const status = async (harness: Harness) =>
        (await harness.app.inject({ method: 'GET', url: '/api/v1/auth/status', remoteAddress: '10.9.9.9' }))
          .statusCode;
      expect([await status(a), await status(b), await status(a)]).toEqual([200, 200, 200]);
      // The fourth request, on the second process, sees the first process's counts.
      expect(await status(b)).toBe(429);
    } finally {
      await a.close();
      await b.close();
      await redis.quit();
    }
  });
});

describe('request size limit', () => {
  it('refuses a body over the limit with 413 payload_too_large', async () => {
    const owner = await h.signup('big');
    // The harness's limit is 64 KiB.
    const response = await owner.client.post('/api/v1/agents', {
      name: 'Too big',
      systemPrompt: 'x'.repeat(70 * 1024),
    });
    expect(response.status).toBe(413);
    expect(response.body.error).toMatchObject({
      code: 'payload_too_large',
      message: 'The body is larger than the limit',
      requestId: expect.any(String),
    });
  });
});
