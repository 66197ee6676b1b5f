// README command 1, end to end: the built `parley serve` on the embedded default in an empty directory,
// the setup link creates the owner, the owner creates an API key, and with that key an agent is
// created, edited, published and restored, over real HTTP.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, startServer, tempDir, type RunningServer } from './server-process.js';

let server: RunningServer;
let workdir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  assertBuilt();
  workdir = tempDir();
  server = await startServer(workdir.dir);
});
afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  workdir?.remove();
});

async function call(
  method: string,
  url: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

describe('quick start on the embedded default', () => {
  it('generates the secret with mode 0600 and keeps the database under ./.parley', () => {
    const secret = path.join(workdir.dir, '.parley', 'secret');
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(existsSync(path.join(workdir.dir, '.parley', 'db'))).toBe(true);
    expect(server.output()).toMatch(/generated a new PARLEY_SECRET_KEY/);
  });

  it('setup link → owner → API key → agent created, edited, published, restored', async () => {
    expect(server.setupLink).toMatch(/\/setup\?token=/);
    const setupUrl = new URL(server.setupLink as string);
    const page = await fetch(`${server.baseUrl}${setupUrl.pathname}${setupUrl.search}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Create owner account');

    const owner = await call('POST', '/api/v1/auth/setup', {
      body: {
        token: setupUrl.searchParams.get('token'),
        email: 'owner@example.test',
        password: 'a long enough password',
        name: 'Owner',
        organizationName: 'Acme',
      },
    });
    expect(owner.status).toBe(201);
    expect(owner.body.user.isInstanceAdmin).toBe(true);
    const cookie = (owner.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const session = { cookie, 'x-csrf-token': owner.body.csrfToken as string };

    const reused = await call('POST', '/api/v1/auth/setup', {
      body: {
        token: setupUrl.searchParams.get('token'),
        email: 'x@example.test',
        password: 'a long enough password',
        name: 'X',
        organizationName: 'X',
      },
    });
    expect(reused.status).toBe(404);

    const key = await call('POST', '/api/v1/api-keys', {
      headers: session,
      body: { name: 'ci', scopes: ['agents:write'] },
    });
    expect(key.status).toBe(201);
    const bearer = { authorization: `Bearer ${key.body.secret as string}` };

    const created = await call('POST', '/api/v1/agents', {
      headers: bearer,
      body: {
        name: 'Receptionist',
        systemPrompt: 'You answer calls for {{business}}.',
        variables: [{ name: 'business', default: 'Acme' }],
      },
    });
    expect(created.status).toBe(201);
    const agentId = created.body.id as string;

    const published1 = await call('POST', `/api/v1/agents/${agentId}/publish`, { headers: bearer });
    expect(published1.status).toBe(201);

    const edited = await call('PATCH', `/api/v1/agents/${agentId}`, {
      headers: bearer,
      body: { firstMessage: 'Hello, Acme here!' },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.draft.firstMessage).toBe('Hello, Acme here!');
    expect(edited.body.hasUnpublishedChanges).toBe(true);

    const published2 = await call('POST', `/api/v1/agents/${agentId}/publish`, { headers: bearer });
    expect(published2.status).toBe(201);
    const versions = await call('GET', `/api/v1/agents/${agentId}/versions`, { headers: bearer });
    expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);

    const restored = await call('POST', `/api/v1/agents/${agentId}/versions/1/restore`, { headers: bearer });
    expect(restored.status).toBe(200);
    expect(restored.body.draft.firstMessage).toBe('');
    const fetched = await call('GET', `/api/v1/agents/${agentId}`, { headers: bearer });
    expect(fetched.body.draft.firstMessage).toBe('');
    expect(fetched.body.publishedVersion).toBe(2);

    // Nothing secret or personal reached the logs: not the password, the key, the session, the prompt.
    const logs = server.output();
    for (const secret of [
      'a long enough password',
      key.body.secret,
      cookie.split('=')[1],
      owner.body.csrfToken,
      'You answer calls for',
    ]) {
      expect(logs).not.toContain(secret);
    }
    // The setup token was printed once, for the operator, and never logged with a request.
    expect(logs.split(setupUrl.searchParams.get('token') as string)).toHaveLength(2);
  });

  it('a second server on the same data directory refuses to start', async () => {
    await expect(startServer(workdir.dir, {}, 20_000)).rejects.toThrow(/in use by process/);
  });

  it('SIGTERM finishes the in-flight request, then exits 0', async () => {
    // A request that is still being answered when the signal arrives must complete.
    const inFlight = fetch(`${server.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@example.test', password: 'a long enough password' }),
    });
    await server.waitForOutput(/"msg":"incoming request"[^\n]*/, (line) =>
      line.includes('/api/v1/auth/login'),
    );
    const code = await server.stop('SIGTERM');
    expect((await inFlight).status).toBe(200);
    expect(code).toBe(0);
    expect(server.output()).toMatch(/"msg":"stopped"/);
  });
});
