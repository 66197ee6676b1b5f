import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, credentials, eq, type DatabaseHandle } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { operatorOrgContext, createUserAsOperator } from '../admin/system.js';
import type { OrgContext, ServiceContext } from '../context.js';
import { SecretBox } from '../secret-box.js';
import { createCredential } from './create-credential.js';
import { resolveCredentialSecret } from './resolve-credential-secret.js';
import { rotateCredentialEncryption } from './rotate-credential-encryption.js';

const OLD_SECRET = 'the old instance secret, long enough to be accepted';
const NEW_SECRET = 'the new instance secret, also long enough to be accepted';
const LOST_SECRET = 'a secret nobody configured any more, long enough';

let database: DatabaseHandle;
let organizationId: string;
beforeAll(async () => {
  database = await createTestDatabase();
  const { organizationId: id } = await createUserAsOperator(system(new SecretBox(OLD_SECRET)), {
    email: 'owner@example.test',
    password: 'correct horse battery',
    name: 'Owner',
    organizationName: 'Acme',
    isInstanceAdmin: false,
  });
  organizationId = id;
});
afterAll(() => database.close());

function system(secretBox: SecretBox): ServiceContext {
  return {
    db: database.db,
    secretBox,
    publicUrl: 'http://parley.test',
    signupEnabled: true,
    sessionTtlMs: 60_000,
    actor: { type: 'system', label: 'test' },
    clientIp: null,
  };
}

const inOrg = (box: SecretBox): Promise<OrgContext> => operatorOrgContext(system(box), organizationId);

async function store(box: SecretBox, apiKey: string): Promise<string> {
  const credential = await createCredential(await inOrg(box), {
    name: 'OpenAI',
    provider: 'openai',
    values: { apiKey, baseUrl: 'https://llm.example.test/v1' },
  });
  return credential.id;
}

const keyIdOf = async (id: string) =>
  (await database.db.select().from(credentials).where(eq(credentials.id, id)))[0]?.keyId;

describe('resolving and rotating credential encryption', () => {
  it('resolves the decrypted values for the server itself, and for nobody else', async () => {
    const box = new SecretBox(OLD_SECRET);
    const id = await store(box, 'sk-resolve-0123456789abcdef');
    expect(await resolveCredentialSecret(await inOrg(box), id)).toEqual({
      apiKey: 'sk-resolve-0123456789abcdef',
      baseUrl: 'https://llm.example.test/v1',
    });
    const asUser: OrgContext = {
      ...(await inOrg(box)),
      actor: {
        type: 'user',
        userId: '00000000-0000-7000-8000-000000000000',
        email: 'x@y.z',
        isInstanceAdmin: true,
      },
    };
    await expect(resolveCredentialSecret(asUser, id)).rejects.toMatchObject({ code: 'forbidden' });
    const otherOrg: OrgContext = {
      ...(await inOrg(box)),
      organizationId: '00000000-0000-7000-8000-000000000001',
    };
    await expect(resolveCredentialSecret(otherOrg, id)).rejects.toMatchObject({
      code: 'credential_not_found',
    });
  });

  it('opens old credentials while the old secret is listed, then re-seals them all under the new key', async () => {
    const oldBox = new SecretBox(OLD_SECRET);
    const lostBox = new SecretBox(LOST_SECRET);
    const first = await store(oldBox, 'sk-first-0123456789abcdefgh');
    const second = await store(oldBox, 'sk-second-0123456789abcdefg');
    const orphan = await store(lostBox, 'sk-orphan-0123456789abcdefg');

    const newOnly = new SecretBox(NEW_SECRET);
    const rotated = new SecretBox(NEW_SECRET, [OLD_SECRET]);
    // Without the old secret the new key cannot read what the old one sealed.
    await expect(resolveCredentialSecret(await inOrg(newOnly), first)).rejects.toMatchObject({
      code: 'internal_error',
    });
    expect((await resolveCredentialSecret(await inOrg(rotated), first)).apiKey).toBe(
      'sk-first-0123456789abcdefgh',
    );

    const result = await rotateCredentialEncryption(system(rotated));
    expect(result.keyId).toBe(newOnly.keyId);
    expect(result.failed).toEqual([{ id: orphan, organizationId, keyId: lostBox.keyId }]);
    expect(result.resealed).toBeGreaterThanOrEqual(2);
    expect(await keyIdOf(first)).toBe(newOnly.keyId);
    expect(await keyIdOf(second)).toBe(newOnly.keyId);
    expect(await keyIdOf(orphan)).toBe(lostBox.keyId);

    // Now the old secret can go: the new key alone opens everything that was re-sealed.
    expect(await resolveCredentialSecret(await inOrg(newOnly), first)).toEqual({
      apiKey: 'sk-first-0123456789abcdefgh',
      baseUrl: 'https://llm.example.test/v1',
    });
    expect((await resolveCredentialSecret(await inOrg(newOnly), second)).apiKey).toBe(
      'sk-second-0123456789abcdefg',
    );
    expect((await rotateCredentialEncryption(system(rotated))).resealed).toBe(0);

    const [entry] = await database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'credential.rotate_encryption'));
    expect(entry).toMatchObject({ actorType: 'system', organizationId: null });
    expect(entry?.details).toMatchObject({ keyId: newOnly.keyId, failed: 1 });
  });

  it('is for instance administrators only', async () => {
    const asUser: ServiceContext = {
      ...system(new SecretBox(NEW_SECRET)),
      actor: {
        type: 'user',
        userId: '00000000-0000-7000-8000-000000000000',
        email: 'x@y.z',
        isInstanceAdmin: false,
      },
    };
    await expect(rotateCredentialEncryption(asUser)).rejects.toMatchObject({ code: 'forbidden' });
  });
});
