import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, eq } from '@parley/db';
import { createHarness, type Harness } from '../../../testing/harness.js';
import { addMember } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const OPENAI_KEY = 'sk-proj-Zq8V3mUu4TnB2wXy7KpL9sRd1cF6gH0j';
const TWILIO_SID = 'AC0123456789abcdef0123456789abcdef';
const TWILIO_TOKEN = '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e';

async function rawRow(id: string) {
  const [row] = await h.database.db.select().from(credentials).where(eq(credentials.id, id));
  return row;
}

describe('creating and reading credentials', () => {
  it('stores the secret encrypted: the raw row holds no part of it, the API only a masked hint', async () => {
    const owner = await h.signup('creds');
    const created = await owner.client.post('/api/v1/credentials', {
      name: 'OpenAI production',
      provider: 'openai',
      values: { apiKey: OPENAI_KEY, baseUrl: 'https://api.openai.com/v1' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'OpenAI production',
      provider: 'openai',
      hint: 'sk-…gH0j',
      publicValues: { baseUrl: 'https://api.openai.com/v1' },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });

    const row = await rawRow(created.body.id);
    expect(row?.keyId).toBe(h.deps.secretBox.keyId);
    const stored = JSON.stringify(row);
    // Not the key, nor any telling slice of it (the hint's 7 characters aside).
    expect(stored).not.toContain(OPENAI_KEY);
    expect(stored).not.toContain(OPENAI_KEY.slice(3, 20));
    expect(stored).not.toContain(Buffer.from(OPENAI_KEY).toString('base64').slice(0, 16));

    const got = await owner.client.get(`/api/v1/credentials/${created.body.id}`);
    expect(got.body).toEqual(created.body);
    const listed = await owner.client.get('/api/v1/credentials');
    expect(listed.body.data).toEqual([created.body]);
    for (const response of [created, got, listed]) {
      expect(JSON.stringify(response.body)).not.toContain(OPENAI_KEY.slice(3, 20));
    }
  });

  it('keeps public fields of a carrier in clear and its token sealed', async () => {
    const owner = await h.signup('twilio');
    const created = await owner.client.post('/api/v1/credentials', {
      name: 'Twilio',
      provider: 'twilio',
      values: { accountSid: TWILIO_SID, authToken: TWILIO_TOKEN },
    });
    expect(created.status).toBe(201);
    expect(created.body.publicValues).toEqual({ accountSid: TWILIO_SID });
    expect(created.body.hint).toBe('5f2…1c3e');
    expect(JSON.stringify(await rawRow(created.body.id))).not.toContain(TWILIO_TOKEN.slice(3, 28));
  });

  it('masks a short secret completely', async () => {
    const owner = await h.signup('short');
    const created = await owner.client.post('/api/v1/credentials', {
      name: 'Custom',
      provider: 'custom',
      values: { secret: 'hunter2-abc', headerName: 'X-Token' },
    });
    expect(created.body.hint).toBe('••••');
    expect(created.body.publicValues).toEqual({ headerName: 'X-Token' });
  });

  it('rejects values that do not fit the provider, naming each field under `values`', async () => {
    const owner = await h.signup('badvalues');
    const wrong = await owner.client.post('/api/v1/credentials', {
      name: 'Twilio',
      provider: 'twilio',
      values: { accountSid: 'not-a-sid', apiKey: 'sk-belongs-to-openai-not-twilio' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('invalid_request');
    const paths = wrong.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['values', 'values.accountSid', 'values.authToken']);
    // The message names fields, never what was typed into them.
    expect(JSON.stringify(wrong.body)).not.toContain('sk-belongs-to-openai');

    const empty = await owner.client.post('/api/v1/credentials', {
      name: 'Deepgram',
      provider: 'deepgram',
      values: { apiKey: '   ' },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details).toEqual([
      { path: 'values.apiKey', message: 'apiKey must not be empty' },
    ]);

    const unknownProvider = await owner.client.post('/api/v1/credentials', {
      name: 'X',
      provider: 'nope',
      values: {},
    });
    expect(unknownProvider.status).toBe(400);
    expect(unknownProvider.body.error.details).toEqual([expect.objectContaining({ path: 'body.provider' })]);
    expect((await owner.client.get('/api/v1/credentials')).body.data).toEqual([]);
  });

  it('filters by provider and pages newest first', async () => {
    const owner = await h.signup('pages');
    const make = async (name: string, provider: string, values: object) =>
      (await owner.client.post('/api/v1/credentials', { name, provider, values })).body.id as string;
    const a = await make('a', 'deepgram', { apiKey: 'dg-aaaaaaaaaaaaaaaaaaaaaaaa' });
    const b = await make('b', 'cartesia', { apiKey: 'sk_car_bbbbbbbbbbbbbbbbbbbbbbbb' });
    const c = await make('c', 'deepgram', { apiKey: 'dg-cccccccccccccccccccccccc' });
    const deepgram = await owner.client.get('/api/v1/credentials?provider=deepgram');
    expect(deepgram.body.data.map((x: { id: string }) => x.id)).toEqual([c, a]);
    const first = await owner.client.get('/api/v1/credentials?limit=2');
    expect(first.body.data.map((x: { id: string }) => x.id)).toEqual([c, b]);
    const second = await owner.client.get(`/api/v1/credentials?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ data: [expect.objectContaining({ id: a })], nextCursor: null });
    const badFilter = await owner.client.get('/api/v1/credentials?provider=nope');
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.details).toEqual([expect.objectContaining({ path: 'querystring.provider' })]);
  });
});

describe('updating and deleting credentials', () => {
  it('renames without touching the secret, and replaces all values when given', async () => {
    const owner = await h.signup('update');
    const created = await owner.client.post('/api/v1/credentials', {
      name: 'Exotel',
      provider: 'exotel',
      values: { accountSid: 'acme1', apiKey: 'key-1', apiToken: 'token-number-one-0000000001' },
    });
    expect(created.body.publicValues).toEqual({
      accountSid: 'acme1',
      apiKey: 'key-1',
      subdomain: 'api.exotel.com',
    });
    const before = await rawRow(created.body.id);

    const renamed = await owner.client.patch(`/api/v1/credentials/${created.body.id}`, { name: 'Exotel EU' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Exotel EU', hint: created.body.hint });
    expect((await rawRow(created.body.id))?.ciphertext).toBe(before?.ciphertext);

    const replaced = await owner.client.patch(`/api/v1/credentials/${created.body.id}`, {
      values: {
        accountSid: 'acme2',
        apiKey: 'key-2',
        apiToken: 'token-number-two-0000000002',
        subdomain: 'api.in.exotel.com',
      },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.hint).toBe('tok…0002');
    expect(replaced.body.publicValues).toEqual({
      accountSid: 'acme2',
      apiKey: 'key-2',
      subdomain: 'api.in.exotel.com',
    });
    expect((await rawRow(created.body.id))?.ciphertext).not.toBe(before?.ciphertext);

    // All values are replaced, so a partial set is incomplete.
    const partial = await owner.client.patch(`/api/v1/credentials/${created.body.id}`, {
      values: { apiToken: 'token-number-three-000000003' },
    });
    expect(partial.status).toBe(400);
    expect(partial.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'values.accountSid',
      'values.apiKey',
    ]);
    const nothing = await owner.client.patch(`/api/v1/credentials/${created.body.id}`, {});
    expect(nothing.status).toBe(400);
    const unknown = await owner.client.patch(`/api/v1/credentials/${created.body.id}`, {
      provider: 'twilio',
    });
    expect(unknown.status).toBe(400);
    expect((await owner.client.get(`/api/v1/credentials/${created.body.id}`)).body.hint).toBe('tok…0002');
  });

  it('deletes for good, and 404s afterwards', async () => {
    const owner = await h.signup('delete');
    const created = await owner.client.post('/api/v1/credentials', {
      name: 'Groq',
      provider: 'groq',
      values: { apiKey: 'gsk_1234567890abcdefghijkl' },
    });
    const deleted = await owner.client.delete(`/api/v1/credentials/${created.body.id}`);
    expect(deleted.status).toBe(204);
    expect(await rawRow(created.body.id)).toBeUndefined();
    for (const response of [
      await owner.client.get(`/api/v1/credentials/${created.body.id}`),
      await owner.client.patch(`/api/v1/credentials/${created.body.id}`, { name: 'again' }),
      await owner.client.delete(`/api/v1/credentials/${created.body.id}`),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('credential_not_found');
    }
  });

  it('refuses to delete a credential an agent uses, until the agent lets go of it', async () => {
    const owner = await h.signup('inuse');
    const credential = await owner.client.post('/api/v1/credentials', {
      name: 'OpenAI',
      provider: 'openai',
      values: { apiKey: OPENAI_KEY },
    });
    const agent = await owner.client.post('/api/v1/agents', {
      name: 'Support',
      llm: {
        provider: 'openai',
        model: 'gpt-4o-mini',
        fallbacks: [{ provider: 'openai', model: 'gpt-4o', credentialId: credential.body.id }],
      },
    });
    expect(agent.status).toBe(201);
    const refused = await owner.client.delete(`/api/v1/credentials/${credential.body.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'credential_in_use',
      details: { agentIds: [agent.body.id] },
    });

    expect((await owner.client.patch(`/api/v1/agents/${agent.body.id}`, { llm: null })).status).toBe(200);
    expect((await owner.client.delete(`/api/v1/credentials/${credential.body.id}`)).status).toBe(204);
  });

  it("refuses to delete a credential a webhook tool or an agent's pre-call request authenticates with", async () => {
    const owner = await h.signup('toolinuse');
    const credential = await owner.client.post('/api/v1/credentials', {
      name: 'Shop API',
      provider: 'custom',
      values: { secret: 'shop-secret-0123456789' },
    });
    const tool = await owner.client.post('/api/v1/tools', {
      kind: 'webhook',
      name: 'Orders',
      functionName: 'lookup_order',
      description: 'Finds an order.',
      webhook: { url: 'https://shop.example.com/orders', credentialId: credential.body.id },
    });
    expect(tool.status).toBe(201);
    const agent = await owner.client.post('/api/v1/agents', {
      name: 'Shop',
      preCallContext: { url: 'https://shop.example.com/context', credentialId: credential.body.id },
    });
    expect(agent.status).toBe(201);

    const refused = await owner.client.delete(`/api/v1/credentials/${credential.body.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'credential_in_use',
      details: { agentIds: [agent.body.id], toolIds: [tool.body.id] },
    });

    expect((await owner.client.delete(`/api/v1/tools/${tool.body.id}`)).status).toBe(204);
    expect(
      (await owner.client.patch(`/api/v1/agents/${agent.body.id}`, { preCallContext: null })).status,
    ).toBe(200);
    expect((await owner.client.delete(`/api/v1/credentials/${credential.body.id}`)).status).toBe(204);
  });

  it('writes an audit row for each change, without the secret', async () => {
    const owner = await h.signup('audit');
    const created = await owner.client.post('/api/v1/credentials', {
      name: 'Deepgram',
      provider: 'deepgram',
      values: { apiKey: 'dg-secret-value-0123456789' },
    });
    await owner.client.patch(`/api/v1/credentials/${created.body.id}`, {
      values: { apiKey: 'dg-secret-value-9876543210' },
    });
    await owner.client.delete(`/api/v1/credentials/${created.body.id}`);
    const log = await owner.client.get(`/api/v1/audit-log?targetId=${created.body.id}`);
    expect(log.status).toBe(200);
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      'credential.delete',
      'credential.update',
      'credential.create',
    ]);
    expect(log.body.data[1].details).toEqual({ name: 'Deepgram', changed: ['values'] });
    expect(log.body.data[2]).toMatchObject({
      actor: { type: 'user', id: owner.userId },
      target: { type: 'credential', id: created.body.id },
      details: { name: 'Deepgram', provider: 'deepgram' },
    });
    expect(JSON.stringify(log.body)).not.toContain('dg-secret-value');
  });
});

describe('who may see and change credentials', () => {
  it('another organization’s user and API key get 404, and its list stays empty', async () => {
    const a = await h.signup('tenant-a');
    const b = await h.signup('tenant-b');
    const credential = await a.client.post('/api/v1/credentials', {
      name: 'A’s key',
      provider: 'openai',
      values: { apiKey: OPENAI_KEY },
    });
    const bKey = await h.apiKey(b, ['credentials:write']);
    for (const client of [b.client, bKey]) {
      const url = `/api/v1/credentials/${credential.body.id}`;
      for (const response of [
        await client.get(url),
        await client.patch(url, { name: 'stolen' }),
        await client.delete(url),
      ]) {
        expect(response.status).toBe(404);
        expect(response.body.error.code).toBe('credential_not_found');
      }
      expect((await client.get('/api/v1/credentials')).body.data).toEqual([]);
    }
    // B cannot reach into A by naming A's organization either.
    const viaHeader = await b.client.inOrganization(a.organizationId).get('/api/v1/credentials');
    expect(viaHeader.status).toBe(404);
    expect((await a.client.get(`/api/v1/credentials/${credential.body.id}`)).body.name).toBe('A’s key');
  });

  it('viewers and members read the masked list but cannot write; admins can', async () => {
    const owner = await h.signup('roles');
    const credential = await owner.client.post('/api/v1/credentials', {
      name: 'Cartesia',
      provider: 'cartesia',
      values: { apiKey: 'sk_car_0123456789abcdefghij' },
    });
    const body = { name: 'x', provider: 'deepgram', values: { apiKey: 'dg-0123456789abcdefghij' } };
    const url = `/api/v1/credentials/${credential.body.id}`;
    for (const role of ['viewer', 'member'] as const) {
      const user = await addMember(h, owner, role);
      const list = await user.client.get('/api/v1/credentials');
      expect(list.status).toBe(200);
      expect(list.body.data).toEqual([expect.objectContaining({ id: credential.body.id, hint: 'sk_…ghij' })]);
      for (const response of [
        await user.client.post('/api/v1/credentials', body),
        await user.client.patch(url, { name: 'renamed' }),
        await user.client.delete(url),
      ]) {
        expect(response.status).toBe(403);
        expect(response.body.error.code).toBe('forbidden');
      }
    }
    const admin = await addMember(h, owner, 'admin');
    expect((await admin.client.post('/api/v1/credentials', body)).status).toBe(201);
    expect((await admin.client.patch(url, { name: 'renamed' })).status).toBe(200);
    expect((await admin.client.delete(url)).status).toBe(204);
  });

  it('API keys need credentials:write to change credentials', async () => {
    const owner = await h.signup('keyscopes');
    const body = { name: 'x', provider: 'deepgram', values: { apiKey: 'dg-0123456789abcdefghij' } };
    const reader = await h.apiKey(owner, ['credentials:read']);
    const agentsOnly = await h.apiKey(owner, ['agents:write']);
    const writer = await h.apiKey(owner, ['credentials:write']);
    expect((await reader.post('/api/v1/credentials', body)).status).toBe(403);
    expect((await agentsOnly.get('/api/v1/credentials')).status).toBe(403);
    const created = await writer.post('/api/v1/credentials', body);
    expect(created.status).toBe(201);
    expect((await reader.get(`/api/v1/credentials/${created.body.id}`)).body.hint).toBe('dg-…ghij');
  });
});
