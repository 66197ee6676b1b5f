import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  lookupFrom,
  startLocalTestServer,
  type LocalTestHandler,
  type LocalTestServer,
  type ReceivedRequest,
} from '../testing/local-test-server.js';
import { guardedFetch, type GuardedRequestOptions } from './guarded-request.js';
import { OutboundRequestError } from './outbound-error.js';
import type { HostLookup } from './resolve-target.js';

// A tool server reached as tools.test and other.test (allowed); internal.test resolves to it too but
// is not allowed.
let server: LocalTestServer;
let port: number;
let seen: ReceivedRequest[];

beforeAll(async () => {
  server = await startLocalTestServer({
    hosts: ['tools.test', 'other.test'],
    unlistedHosts: ['internal.test'],
  });
  port = server.port;
  seen = server.requests;
});
afterAll(() => server.close());
afterEach(() => server.dropConnections());

const reset = (next: LocalTestHandler) => server.reset(next);
const toolServer = () => ({ lookup: server.lookup, allowedHosts: server.allowedHosts });

async function failure(promise: Promise<unknown>): Promise<OutboundRequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutboundRequestError);
  return error as OutboundRequestError;
}

const ok: LocalTestHandler = (_request, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"customer":"Ada"}');
};

describe('guardedFetch to an allowed host', () => {
  it('returns status, headers, body and latency, sending the host name as Host', async () => {
    reset(ok);
    const response = await guardedFetch(`http://tools.test:${port}/lookup?id=7`, toolServer());
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body.toString())).toEqual({ customer: 'Ada' });
    expect(response.latencyMs).toBeGreaterThanOrEqual(0);
    expect(response.redirects).toBe(0);
    expect(seen).toEqual([
      expect.objectContaining({ method: 'GET', path: '/lookup?id=7', host: `tools.test:${port}` }),
    ]);
  });

  it('sends the method, headers and body it was given', async () => {
    reset(ok);
    await guardedFetch(`http://tools.test:${port}/book`, {
      ...toolServer(),
      method: 'post',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': 'k-123' },
      body: '{"slot":"10:00"}',
    });
    expect(seen[0]).toMatchObject({ method: 'POST', body: '{"slot":"10:00"}' });
    expect(seen[0]?.headers).toMatchObject({ 'x-api-key': 'k-123', 'content-length': '16' });
  });

  it('returns a 500 as a response, not a failure', async () => {
    reset((_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const response = await guardedFetch(`http://tools.test:${port}/`, toolServer());
    expect(response.status).toBe(500);
    expect(response.body.toString()).toBe('boom');
  });

  it('connects to the address it checked and never resolves the name again (no DNS rebinding)', async () => {
    reset(ok);
    let answers = 0;
    // A rebinding resolver: the first answer passes the check, later ones point somewhere else.
    const rebinding: HostLookup = async () => {
      answers += 1;
      return [{ address: answers === 1 ? '127.0.0.1' : '10.66.66.66', family: 4 }];
    };
    const response = await guardedFetch(`http://rebind.test:${port}/`, {
      lookup: rebinding,
      allowedHosts: ['rebind.test'],
      timeoutMs: 2_000,
    });
    expect(response.status).toBe(200);
    expect(answers).toBe(1);
    expect(seen[0]?.host).toBe(`rebind.test:${port}`);
  });

  it('matches *.suffix entries of the allow-list', async () => {
    reset(ok);
    const response = await guardedFetch(`http://api.tools.test:${port}/`, {
      lookup: lookupFrom({ 'api.tools.test': ['127.0.0.1'] }),
      allowedHosts: ['*.tools.test'],
    });
    expect(response.status).toBe(200);
  });
});

describe('guardedFetch refuses private destinations', () => {
  const refusals: [string, string, RegExp][] = [
    ['loopback IPv4', 'http://127.0.0.1:PORT/', /127\.0\.0\.1:\d+ is a loopback address/],
    ['loopback IPv6', 'http://[::1]:PORT/', /\[::1\]:\d+ is a loopback address/],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]:PORT/', /loopback/],
    ['a private network', 'http://10.0.0.1/', /10\.0\.0\.1 is a private network address/],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata/],
    ['loopback by decimal notation', 'http://2130706433:PORT/', /127\.0\.0\.1:\d+ is a loopback/],
  ];

  it.each(refusals)('refuses %s', async (_name, url, message) => {
    reset(ok);
    const error = await failure(guardedFetch(url.replace('PORT', String(port)), { timeoutMs: 2_000 }));
    expect(error.code).toBe('address_refused');
    expect(error.message).toMatch(message);
    expect(seen).toEqual([]);
  });

  it('refuses a host name that resolves to a private address, naming both', async () => {
    const lookup = lookupFrom({ 'crm.customer.test': ['10.1.2.3'] });
    const error = await failure(guardedFetch('https://crm.customer.test/api', { lookup, timeoutMs: 2_000 }));
    expect(error.code).toBe('address_refused');
    expect(error.message).toBe(
      'Refused to connect: crm.customer.test resolves to 10.1.2.3, a private network address',
    );
    expect(error.host).toBe('crm.customer.test');
  });

  it('refuses a host name with one public and one private address', async () => {
    const lookup = lookupFrom({ 'mixed.test': ['93.184.216.34', '127.0.0.1'] });
    const error = await failure(guardedFetch(`http://mixed.test:${port}/`, { lookup, timeoutMs: 2_000 }));
    expect(error.code).toBe('address_refused');
    expect(error.message).toMatch(/resolves to 127\.0\.0\.1, a loopback address/);
  });

  it('refuses a redirect from an allowed host to a private address', async () => {
    reset((request, res) => {
      if (request.path === '/start') res.writeHead(302, { location: `http://127.0.0.1:${port}/admin` }).end();
      else ok(request, res);
    });
    const error = await failure(guardedFetch(`http://tools.test:${port}/start`, toolServer()));
    expect(error.code).toBe('address_refused');
    expect(error.message).toMatch(/127\.0\.0\.1:\d+ is a loopback address/);
    expect(seen.map((s) => s.path)).toEqual(['/start']);
  });

  it('refuses a redirect to a host name that resolves to a private address', async () => {
    reset((request, res) => {
      if (request.path === '/start')
        res.writeHead(307, { location: `http://internal.test:${port}/admin` }).end();
      else ok(request, res);
    });
    const error = await failure(guardedFetch(`http://tools.test:${port}/start`, toolServer()));
    expect(error.code).toBe('address_refused');
    expect(error.message).toMatch(/internal\.test:\d+ resolves to 127\.0\.0\.1, a loopback address/);
    expect(seen.map((s) => s.path)).toEqual(['/start']);
  });

  it('says which host could not be resolved', async () => {
    const error = await failure(guardedFetch('http://nowhere.test/', { lookup: lookupFrom({}) }));
    expect(error.code).toBe('host_not_found');
    expect(error.message).toBe('Could not resolve nowhere.test (ENOTFOUND)');
  });

  it('never puts the path, query string, credentials or header values in the message', async () => {
    const lookup = lookupFrom({ 'hooks.test': ['192.168.0.10'] });
    const error = await failure(
      guardedFetch('https://user:pa55word@hooks.test/T0/B0/s3cretpath?token=s3cretquery', {
        lookup,
        headers: { authorization: 'Bearer s3crettoken' },
      }),
    );
    expect(error.message).not.toMatch(/s3cret|pa55word|user/);
  });

  it('accepts only http and https URLs', async () => {
    expect((await failure(guardedFetch('file:///etc/passwd'))).code).toBe('invalid_url');
    expect((await failure(guardedFetch('gopher://tools.test/'))).message).toMatch(/only http and https/);
    expect((await failure(guardedFetch('not a url'))).code).toBe('invalid_url');
  });

  it('refuses headers that decide framing or routing', async () => {
    const error = await failure(
      guardedFetch(`http://tools.test:${port}/`, { ...toolServer(), headers: { Host: 'metadata.internal' } }),
    );
    expect(error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/host header/) });
  });
});

describe('guardedFetch follows redirects', () => {
  it('turns a 303 into a GET without the body', async () => {
    reset((request, res) => {
      if (request.path === '/submit') res.writeHead(303, { location: '/result' }).end();
      else ok(request, res);
    });
    const response = await guardedFetch(`http://tools.test:${port}/submit`, {
      ...toolServer(),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(200);
    expect(response.redirects).toBe(1);
    expect(response.url.pathname).toBe('/result');
    expect(seen.map((s) => [s.method, s.path, s.body])).toEqual([
      ['POST', '/submit', '{"a":1}'],
      ['GET', '/result', ''],
    ]);
    expect(seen[1]?.headers['content-type']).toBeUndefined();
  });

  it('keeps the method and body through a 307 and a 308', async () => {
    reset((request, res) => {
      if (request.path === '/a') res.writeHead(307, { location: '/b' }).end();
      else if (request.path === '/b') res.writeHead(308, { location: '/c' }).end();
      else ok(request, res);
    });
    await guardedFetch(`http://tools.test:${port}/a`, { ...toolServer(), method: 'PUT', body: 'payload' });
    expect(seen.map((s) => [s.method, s.path, s.body])).toEqual([
      ['PUT', '/a', 'payload'],
      ['PUT', '/b', 'payload'],
      ['PUT', '/c', 'payload'],
    ]);
  });

  it('does not carry the caller’s credentials to another origin', async () => {
    reset((request, res) => {
      if (request.path === '/start')
        res.writeHead(302, { location: `http://other.test:${port}/landing` }).end();
      else ok(request, res);
    });
    await guardedFetch(`http://tools.test:${port}/start`, {
      ...toolServer(),
      headers: { authorization: 'Bearer t', 'x-api-key': 'k', accept: 'application/json' },
    });
    expect(seen[0]?.headers).toMatchObject({ authorization: 'Bearer t', 'x-api-key': 'k' });
    expect(seen[1]?.host).toBe(`other.test:${port}`);
    expect(seen[1]?.headers.authorization).toBeUndefined();
    expect(seen[1]?.headers['x-api-key']).toBeUndefined();
    expect(seen[1]?.headers.accept).toBe('application/json');
  });

  it('stops a redirect loop after the limit', async () => {
    reset((_req, res) => res.writeHead(302, { location: '/again' }).end());
    const error = await failure(
      guardedFetch(`http://tools.test:${port}/`, { ...toolServer(), maxRedirects: 3 }),
    );
    expect(error.code).toBe('too_many_redirects');
    expect(error.message).toMatch(/after 3 redirects/);
    expect(seen).toHaveLength(4);
  });

  it('refuses a redirect to a non-http scheme', async () => {
    reset((_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
    const error = await failure(guardedFetch(`http://tools.test:${port}/`, toolServer()));
    expect(error.code).toBe('invalid_url');
    expect(error.message).toMatch(/tools\.test:\d+ redirected to a file URL/);
  });
});

describe('guardedFetch bounds time and size', () => {
  it('times out on a server that never answers', async () => {
    reset(() => {
      // Holds the response open.
    });
    const error = await failure(
      guardedFetch(`http://tools.test:${port}/`, { ...toolServer(), timeoutMs: 100 }),
    );
    expect(error.code).toBe('timeout');
    expect(error.message).toMatch(/No complete response from tools\.test:\d+ within 100 ms/);
    expect(error.retryable).toBe(true);
  });

  it('times out on a DNS lookup that never answers', async () => {
    const lookup: HostLookup = () => new Promise(() => {});
    const error = await failure(guardedFetch('http://slow-dns.test/', { lookup, timeoutMs: 100 }));
    expect(error.code).toBe('timeout');
    expect(error.message).toMatch(/slow-dns\.test within 100 ms/);
  });

  it('times out on a body that never finishes', async () => {
    reset((_req, res) => res.write('partial'));
    const error = await failure(
      guardedFetch(`http://tools.test:${port}/`, { ...toolServer(), timeoutMs: 100 }),
    );
    expect(error.code).toBe('timeout');
  });

  it('fails a streamed body larger than the limit', async () => {
    reset((_req, res) => {
      // Chunked, no Content-Length: the limit is found while reading.
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(1024, 'x'));
      res.end();
    });
    const error = await failure(
      guardedFetch(`http://tools.test:${port}/`, { ...toolServer(), maxResponseBytes: 10_000 }),
    );
    expect(error.code).toBe('response_too_large');
    expect(error.message).toMatch(/tools\.test:\d+ is larger than 10000 bytes/);
  });

  it('fails at once on a declared Content-Length larger than the limit', async () => {
    reset((_req, res) => {
      res.setHeader('content-length', 50_000);
      res.write('x'); // and the rest never comes: the declared size alone decides
    });
    const error = await failure(
      guardedFetch(`http://tools.test:${port}/`, {
        ...toolServer(),
        maxResponseBytes: 10_000,
        timeoutMs: 5_000,
      }),
    );
    expect(error.code).toBe('response_too_large');
  });

  it('accepts a body exactly at the limit', async () => {
    reset((_req, res) => res.end(Buffer.alloc(4096, 'y')));
    const response = await guardedFetch(`http://tools.test:${port}/`, {
      ...toolServer(),
      maxResponseBytes: 4096,
    });
    expect(response.body.length).toBe(4096);
  });

  it('stops when the caller aborts, and says so', async () => {
    const controller = new AbortController();
    reset(() => controller.abort());
    const options: GuardedRequestOptions = { ...toolServer(), signal: controller.signal, timeoutMs: 5_000 };
    const error = await failure(guardedFetch(`http://tools.test:${port}/`, options));
    expect(error.code).toBe('aborted');
    expect(error.message).toMatch(/The request to tools\.test:\d+ was cancelled/);
  });

  it('does not start when the caller already aborted', async () => {
    reset(ok);
    const options = { ...toolServer(), signal: AbortSignal.abort() };
    expect((await failure(guardedFetch(`http://tools.test:${port}/`, options))).code).toBe('aborted');
    expect(seen).toEqual([]);
  });

  it('reports a refused connection as connection_failed, retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(guardedFetch(`http://tools.test:${closedPort}/`, toolServer()));
    expect(error).toMatchObject({ code: 'connection_failed', retryable: true });
    expect(error.message).toMatch(/ECONNREFUSED/);
  });
});
