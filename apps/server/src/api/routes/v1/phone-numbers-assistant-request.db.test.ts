// A number's inbound assistant request hook through the HTTP API: set on registration, replaced or
// removed by an edit, shown back on get and list, with its URL, timeout and credential checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { auditRows } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(() => h.close());

let counter = 0;
const freshNumber = () => `+4420796${String(++counter).padStart(5, '0')}`;

async function customCredential(user: SignedInUser) {
  const response = await user.client.post('/api/v1/credentials', {
    name: 'hook key',
    provider: 'custom',
    values: { secret: 'sk_live_hook' },
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.id as string;
}

describe('the assistant request hook of a number', () => {
  it('is set on registration with its defaults, and shown back on get and list', async () => {
    const owner = await h.signup('hook-create');
    const credentialId = await customCredential(owner);
    const created = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'twilio',
      number: freshNumber(),
      assistantRequest: { url: 'https://crm.example.com/parley/assistant', credentialId },
    });
    expect(created.status).toBe(201);
    expect(created.body.assistantRequest).toEqual({
      url: 'https://crm.example.com/parley/assistant',
      credentialId,
      headers: {},
      timeoutMs: 1500,
    });
    const got = await owner.client.get(`/api/v1/phone-numbers/${created.body.id}`);
    expect(got.body.assistantRequest).toEqual(created.body.assistantRequest);
    const listed = await owner.client.get('/api/v1/phone-numbers');
    expect(listed.body.data[0].assistantRequest).toEqual(created.body.assistantRequest);
  });

  it('is replaced whole by an edit, removed by null, and an edit that repeats it changes nothing', async () => {
    const owner = await h.signup('hook-update');
    const created = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'plivo',
      number: freshNumber(),
    });
    expect(created.body.assistantRequest).toBeNull();
    const url = `/api/v1/phone-numbers/${created.body.id}`;
    const hook = { url: 'https://crm.example.com/a', headers: { 'X-Tenant': 'acme' }, timeoutMs: 800 };

    const set = await owner.client.patch(url, { assistantRequest: hook });
    expect(set.status).toBe(200);
    expect(set.body.assistantRequest).toEqual(hook);
    expect((await owner.client.get(url)).body.assistantRequest).toEqual(hook);

    const again = await owner.client.patch(url, { assistantRequest: hook });
    expect(again.body.updatedAt).toBe(set.body.updatedAt);

    const removed = await owner.client.patch(url, { assistantRequest: null });
    expect(removed.body.assistantRequest).toBeNull();
    expect((await owner.client.get(url)).body.assistantRequest).toBeNull();

    const log = (await auditRows(h.database, owner.organizationId)).filter(
      (r) => r.targetId === created.body.id && r.action === 'phone_number.update',
    );
    // Two changes, the repeat left no row; the URL (which may hold a key) is not in the log.
    expect(log.map((r) => r.details)).toEqual([
      { changed: ['assistantRequest'] },
      { changed: ['assistantRequest'] },
    ]);
    expect(JSON.stringify(log)).not.toContain('crm.example.com');
  });

  it('refuses a bad URL, a timeout the carrier would not wait for, and unknown fields, naming them', async () => {
    const owner = await h.signup('hook-invalid');
    const cases: [Record<string, unknown>, string][] = [
      [{ url: 'ftp://crm.example.com/a' }, 'assistantRequest.url'],
      [{ url: 'not a url' }, 'assistantRequest.url'],
      [{ url: 'https://crm.example.com/a', timeoutMs: 6000 }, 'assistantRequest.timeoutMs'],
      [{ url: 'https://crm.example.com/a', timeoutMs: 50 }, 'assistantRequest.timeoutMs'],
      [{ url: 'https://crm.example.com/a', headers: { Host: 'x' } }, 'assistantRequest.headers.Host'],
      [{ url: 'https://crm.example.com/a', agentId: 'x' }, 'assistantRequest'],
      [{ timeoutMs: 1000 }, 'assistantRequest.url'],
    ];
    for (const [assistantRequest, path] of cases) {
      const response = await owner.client.post('/api/v1/phone-numbers', {
        carrier: 'twilio',
        number: freshNumber(),
        assistantRequest,
      });
      expect(response.status, JSON.stringify(assistantRequest)).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      const paths = (response.body.error.details as { path: string }[]).map((d) => d.path);
      expect(paths, JSON.stringify(assistantRequest)).toContain(`body.${path}`);
    }
  });

  it('accepts only a custom credential of the organization, another organization’s as if missing', async () => {
    const owner = await h.signup('hook-cred');
    const stranger = await h.signup('hook-cred-other');
    const foreign = await customCredential(stranger);
    const carrierCredential = await owner.client.post('/api/v1/credentials', {
      name: 'twilio',
      provider: 'twilio',
      values: {
        accountSid: 'AC0123456789abcdef0123456789abcdef',
        authToken: '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e',
      },
    });
    const missing = '6f1c2d3e-0000-4000-8000-00000000dead';
    const answers = [];
    for (const credentialId of [foreign, missing, carrierCredential.body.id as string]) {
      answers.push(
        await owner.client.post('/api/v1/phone-numbers', {
          carrier: 'twilio',
          number: freshNumber(),
          assistantRequest: { url: 'https://crm.example.com/a', credentialId },
        }),
      );
    }
    const [foreignAnswer, missingAnswer, wrongKind] = answers;
    expect(foreignAnswer!.status).toBe(422);
    expect(foreignAnswer!.body.error).toMatchObject({
      code: 'invalid_reference',
      details: [
        { path: 'assistantRequest.credentialId', message: 'no such credential in this organization' },
      ],
    });
    // Another organization's credential reads exactly like one that does not exist.
    expect(missingAnswer!.body.error.details).toEqual(foreignAnswer!.body.error.details);
    expect(wrongKind!.status).toBe(422);
    expect(wrongKind!.body.error.details).toEqual([
      { path: 'assistantRequest.credentialId', message: 'the credential is for twilio, not custom' },
    ]);

    // The same check on an edit; nothing was saved by the refused registrations.
    const created = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'twilio',
      number: freshNumber(),
    });
    const edit = await owner.client.patch(`/api/v1/phone-numbers/${created.body.id}`, {
      assistantRequest: { url: 'https://crm.example.com/a', credentialId: foreign },
    });
    expect(edit.status).toBe(422);
    expect(edit.body.error.details[0].path).toBe('assistantRequest.credentialId');
    expect((await owner.client.get('/api/v1/phone-numbers')).body.data).toHaveLength(1);
  });

  it('is editable only with phone_numbers:write', async () => {
    const owner = await h.signup('hook-scope');
    const created = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'twilio',
      number: freshNumber(),
    });
    const key = await owner.client.post('/api/v1/api-keys', {
      name: 'reader',
      scopes: ['phone_numbers:read'],
    });
    expect(key.status).toBe(201);
    const reader = h.anonymous.withApiKey(key.body.secret as string);
    const refused = await reader.patch(`/api/v1/phone-numbers/${created.body.id}`, {
      assistantRequest: { url: 'https://crm.example.com/a' },
    });
    expect(refused.status).toBe(403);
    expect(
      (await owner.client.get(`/api/v1/phone-numbers/${created.body.id}`)).body.assistantRequest,
    ).toBeNull();
  });
});
