// The operator commands of the built `parley` CLI, each in a fresh directory on the embedded default.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, startServer, tempDir } from './server-process.js';

let workdir: ReturnType<typeof tempDir>;
beforeEach(() => {
  assertBuilt();
  workdir = tempDir();
});
afterEach(() => workdir.remove());

describe('parley CLI', () => {
  it('a bad configuration value stops start-up naming the variable', async () => {
    const result = await runCli(['serve'], workdir.dir, { PARLEY_PORT: 'eighty' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/PARLEY_PORT/);
    const url = await runCli(['migrate'], workdir.dir, { DATABASE_URL: 'mysql://nope' });
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/DATABASE_URL: must be a postgres/);
  });

  it('migrate is idempotent and doctor reports the database and masks secrets', async () => {
    const first = await runCli(['migrate'], workdir.dir, { PARLEY_SECRET_KEY: 's'.repeat(40) });
    expect(first.stdout).toMatch(/Applied 0000_init/);
    const second = await runCli(['migrate'], workdir.dir);
    expect(second.stdout).toMatch(/up to date/);
    const doctor = await runCli(['doctor'], workdir.dir, {
      PARLEY_SECRET_KEY: 'super-secret-value-that-is-long-enough-1234',
    });
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toMatch(/Database: pglite/);
    expect(doctor.stdout).toMatch(/pending: none/);
    expect(doctor.stdout).toMatch(/PARLEY_SECRET_KEY\s+\*\*\*\* \(43 characters\)/);
    expect(doctor.stdout).not.toContain('super-secret-value');
    expect(doctor.stdout).toMatch(/PARLEY_PUBLIC_URL is not set/);
    const withPassword = await runCli(['doctor'], workdir.dir, {
      DATABASE_URL: 'postgres://parley:hunter2-secret@127.0.0.1:1/parley',
      PARLEY_SECRET_KEY: 's'.repeat(40),
    });
    expect(withPassword.stdout).toContain('postgres://parley:****@127.0.0.1:1/parley');
    expect(withPassword.stdout + withPassword.stderr).not.toContain('hunter2');
    expect(withPassword.code).toBe(1);
  });

  it('.env fills in settings the environment leaves out', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${workdir.dir}/.env`, 'PARLEY_PORT=4321\n');
    const doctor = await runCli(['doctor'], workdir.dir);
    expect(doctor.stdout).toMatch(/PARLEY_PORT\s+4321\s+set/);
  });

  it('user create, admin grant/revoke and api-key create work without a running server', async () => {
    const missingPassword = await runCli(['user', 'create', '--email', 'ops@example.test'], workdir.dir);
    expect(missingPassword.code).toBe(2);
    expect(missingPassword.stderr).toMatch(/PARLEY_USER_PASSWORD/);

    const created = await runCli(
      ['user', 'create', '--email', 'ops@example.test', '--organization', 'Ops'],
      workdir.dir,
      {
        PARLEY_USER_PASSWORD: 'operator password 1',
      },
    );
    expect(created.code).toBe(0);
    const organizationId = /owning organization ([0-9a-f-]{36})/.exec(created.stdout)?.[1] as string;
    expect(organizationId).toBeDefined();

    expect((await runCli(['admin', 'grant', 'ops@example.test'], workdir.dir)).stdout).toMatch(
      /now an instance administrator/,
    );
    expect((await runCli(['admin', 'revoke', 'ops@example.test'], workdir.dir)).stdout).toMatch(/no longer/);
    const unknown = await runCli(['admin', 'grant', 'nobody@example.test'], workdir.dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/user_not_found/);

    const key = await runCli(
      ['api-key', 'create', '--organization', organizationId, '--scopes', 'agents:read'],
      workdir.dir,
    );
    expect(key.code).toBe(0);
    const secret = /(prly_\S+)/.exec(key.stdout.split('\n\n')[1] ?? '')?.[1] as string;
    expect(secret).toMatch(/^prly_[A-Za-z0-9]{12}_/);
    const badScope = await runCli(
      ['api-key', 'create', '--organization', organizationId, '--scopes', 'everything'],
      workdir.dir,
    );
    expect(badScope.code).toBe(2);

    // The key works against a server started afterwards on the same data.
    const server = await startServer(workdir.dir);
    try {
      expect(server.setupLink).toBeNull();
      const agents = await fetch(`${server.baseUrl}/api/v1/api-keys`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      // agents:read does not include managing keys.
      expect(agents.status).toBe(403);
      const me = await fetch(`${server.baseUrl}/api/v1/info`, {
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(me.status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
