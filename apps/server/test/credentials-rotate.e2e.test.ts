// `parley credentials rotate` on the embedded default: credentials sealed under one PARLEY_SECRET_KEY
// are re-encrypted under the next one, and a credential whose key is missing is reported, not lost.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, startServer, tempDir } from './server-process.js';

const OLD_KEY = 'the-old-instance-secret-key-0123456789abcdef';
const NEW_KEY = 'the-new-instance-secret-key-0123456789abcdef';

let workdir: ReturnType<typeof tempDir>;
beforeEach(() => {
  assertBuilt();
  workdir = tempDir();
});
afterEach(() => workdir.remove());

describe('parley credentials rotate', () => {
  it('re-encrypts every credential with the new key once the old one is listed as previous', async () => {
    const env = { PARLEY_SECRET_KEY: OLD_KEY };
    const user = await runCli(['user', 'create', '--email', 'ops@example.test'], workdir.dir, {
      ...env,
      PARLEY_USER_PASSWORD: 'operator password 1',
    });
    const organizationId = /owning organization ([0-9a-f-]{36})/.exec(user.stdout)?.[1] as string;
    const key = await runCli(
      ['api-key', 'create', '--organization', organizationId, '--scopes', 'credentials:write'],
      workdir.dir,
      env,
    );
    const secret = /(prly_\S+)/.exec(key.stdout.split('\n\n')[1] ?? '')?.[1] as string;

    const server = await startServer(workdir.dir, env);
    let credentialId: string;
    try {
      const created = await fetch(`${server.baseUrl}/api/v1/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'OpenAI',
          provider: 'openai',
          values: { apiKey: 'sk-e2e-0123456789abcdefgh' },
        }),
      });
      expect(created.status).toBe(201);
      credentialId = ((await created.json()) as { id: string }).id;
    } finally {
      await server.stop();
    }

    // The new key alone cannot open the old credential: it is named, and the command fails.
    const withoutOld = await runCli(['credentials', 'rotate'], workdir.dir, { PARLEY_SECRET_KEY: NEW_KEY });
    expect(withoutOld.code).toBe(1);
    expect(withoutOld.stdout).toMatch(/Re-encrypted 0 credential/);
    expect(withoutOld.stderr).toContain(credentialId);
    expect(withoutOld.stderr).not.toContain('sk-e2e');

    const rotated = await runCli(['credentials', 'rotate'], workdir.dir, {
      PARLEY_SECRET_KEY: NEW_KEY,
      PARLEY_PREVIOUS_SECRET_KEYS: OLD_KEY,
    });
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/Re-encrypted 1 credential/);

    const again = await runCli(['credentials', 'rotate'], workdir.dir, { PARLEY_SECRET_KEY: NEW_KEY });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Re-encrypted 0 credential.*\n.*can be emptied/);

    const usage = await runCli(['credentials', 'spin'], workdir.dir, { PARLEY_SECRET_KEY: NEW_KEY });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: parley credentials rotate/);
  });
});
