// /api/v1/phone-numbers through the HTTP API: registering, reading, listing, editing and deleting
// numbers, the webhook URLs shown for the carrier console, the checks on what a number points at, who
// may do what, and how an incoming call to a number is routed (resolveInboundRoute).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInboundRoute } from '@parley/services';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(() => h.close());

let counter = 0;
/** A number no other test registered: numbers are unique per carrier on the whole instance. */
const freshNumber = () => `+4420795${String(++counter).padStart(5, '0')}`;

const CARRIER_VALUES = {
  twilio: { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e' },
  plivo: { authId: 'MAXXXXXXXXXXXXXXXXXX', authToken: 'plivo-token-0123456789abcdef' },
  telnyx: { apiKey: 'KEY0123456789abcdefghijklmnop' },
} as const;

async function newCredential(user: SignedInUser, provider: keyof typeof CARRIER_VALUES) {
  const response = await user.client.post('/api/v1/credentials', {
    name: `${provider} account`,
    provider,
    values: CARRIER_VALUES[provider],
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.id as string;
}

async function newAgent(user: SignedInUser, options: { publish?: boolean } = {}) {
  const response = await user.client.post('/api/v1/agents', { name: 'Front desk' });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  if (options.publish) await user.client.post(`/api/v1/agents/${response.body.id}/publish`);
  return response.body.id as string;
}

async function register(user: SignedInUser, body: Record<string, unknown>) {
  const response = await user.client.post('/api/v1/phone-numbers', body);
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body as { id: string; number: string; [field: string]: unknown };
}

const ids = (response: { body: { data: { id: string }[] } }) => response.body.data.map((n) => n.id);

describe('registering and reading numbers', () => {
  it('answers the number with its credential, inbound agent and the webhook URLs to paste', async () => {
    const owner = await h.signup('register');
    const credentialId = await newCredential(owner, 'twilio');
    const agentId = await newAgent(owner);
    const number = freshNumber();
    const created = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'twilio',
      number,
      name: 'London support',
      credentialId,
      inboundAgentId: agentId,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      carrier: 'twilio',
      number,
      name: 'London support',
      credentialId,
      inboundAgentId: agentId,
      assistantRequest: null,
      webhooks: {
        inbound: 'http://parley.test/webhooks/twilio/inbound',
        status: 'http://parley.test/webhooks/twilio/status',
        media: 'ws://parley.test/media/twilio',
        instructions: expect.stringContaining('"A call comes in"'),
      },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await owner.client.get(`/api/v1/phone-numbers/${created.body.id}`)).body).toEqual(created.body);
    expect((await owner.client.get('/api/v1/phone-numbers')).body).toEqual({
      data: [created.body],
      nextCursor: null,
    });
  });

  it('names a number after itself when no name is given, and needs neither credential nor agent', async () => {
    const owner = await h.signup('bare');
    const number = freshNumber();
    const created = await register(owner, { carrier: 'exotel', number });
    expect(created).toMatchObject({ name: number, credentialId: null, inboundAgentId: null });
    expect(created.webhooks).toMatchObject({
      inbound: 'http://parley.test/webhooks/exotel/inbound',
      instructions: expect.stringContaining('Voicebot applet'),
    });
  });

  it('shows wss:// media and https:// webhooks on an instance served over https, under its path', async () => {
    const owner = await h.signup('https');
    const created = await register(owner, { carrier: 'plivo', number: freshNumber() });
    const httpPublicUrl = h.deps.publicUrl;
    // The routes read the public URL from the same deps object on every request.
    h.deps.publicUrl = 'https://voice.example.com/parley/';
    try {
      const got = await owner.client.get(`/api/v1/phone-numbers/${created.id}`);
      expect(got.body.webhooks).toEqual({
        inbound: 'https://voice.example.com/parley/webhooks/plivo/inbound',
        status: 'https://voice.example.com/parley/webhooks/plivo/status',
        media: 'wss://voice.example.com/parley/media/plivo',
        instructions: expect.stringMatching(/Answer URL.*Hangup URL/),
      });
    } finally {
      h.deps.publicUrl = httpPublicUrl;
    }
  });

  it('refuses a number that is not strict E.164, naming the field', async () => {
    const owner = await h.signup('e164');
    for (const number of [
      '+44 20 7946 0000',
      '442079460000',
      '+0442079460',
      '+1234567',
      '+1234567890123456',
    ]) {
      const response = await owner.client.post('/api/v1/phone-numbers', { carrier: 'twilio', number });
      expect(response.status, number).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.details).toEqual([
        { path: 'body.number', message: expect.stringContaining('must be an E.164 number') },
      ]);
    }
    const unknownCarrier = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'vonage',
      number: freshNumber(),
    });
    expect(unknownCarrier.status).toBe(400);
    expect(unknownCarrier.body.error.details).toEqual([expect.objectContaining({ path: 'body.carrier' })]);
    expect((await owner.client.get('/api/v1/phone-numbers')).body.data).toEqual([]);
  });

  it('refuses a credential or agent that is not the organization’s, or a credential of another carrier', async () => {
    const owner = await h.signup('refs');
    const other = await h.signup('refs-other');
    const othersCredential = await newCredential(other, 'twilio');
    const othersAgent = await newAgent(other);
    const plivoCredential = await newCredential(owner, 'plivo');
    const deletedAgent = await newAgent(owner);
    await owner.client.delete(`/api/v1/agents/${deletedAgent}`);

    const foreign = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'twilio',
      number: freshNumber(),
      credentialId: othersCredential,
      inboundAgentId: othersAgent,
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.error.code).toBe('invalid_reference');
    expect(foreign.body.error.details).toEqual([
      { path: 'credentialId', message: 'no such credential in this organization' },
      { path: 'inboundAgentId', message: 'no such agent in this organization' },
    ]);

    const wrongCarrier = await owner.client.post('/api/v1/phone-numbers', {
      carrier: 'twilio',
      number: freshNumber(),
      credentialId: plivoCredential,
      inboundAgentId: deletedAgent,
    });
    expect(wrongCarrier.status).toBe(422);
    expect(wrongCarrier.body.error.details).toEqual([
      { path: 'credentialId', message: 'the credential is for plivo, not twilio' },
      { path: 'inboundAgentId', message: 'no such agent in this organization' },
    ]);
    expect((await owner.client.get('/api/v1/phone-numbers')).body.data).toEqual([]);
  });

  it('refuses a number already registered for that carrier by any organization, without saying whose', async () => {
    const first = await h.signup('taken-first');
    const second = await h.signup('taken-second');
    const number = freshNumber();
    await register(first, { carrier: 'twilio', number, name: 'First Co main line' });
    for (const user of [first, second]) {
      const again = await user.client.post('/api/v1/phone-numbers', { carrier: 'twilio', number });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'phone_number_taken', details: { field: 'number' } });
      const text = JSON.stringify(again.body);
      expect(text).not.toContain(first.organizationId);
      expect(text).not.toContain('First Co');
      expect(text).not.toContain(number);
    }
    // The same digits at another carrier are another number.
    expect((await second.client.post('/api/v1/phone-numbers', { carrier: 'telnyx', number })).status).toBe(
      201,
    );
  });
});

describe('listing numbers', () => {
  it('filters by carrier and inbound agent, and pages newest first', async () => {
    const owner = await h.signup('list');
    const agentId = await newAgent(owner);
    const a = (await register(owner, { carrier: 'twilio', number: freshNumber(), inboundAgentId: agentId }))
      .id;
    const b = (await register(owner, { carrier: 'telnyx', number: freshNumber() })).id;
    const c = (await register(owner, { carrier: 'twilio', number: freshNumber() })).id;

    expect(ids(await owner.client.get('/api/v1/phone-numbers?carrier=twilio'))).toEqual([c, a]);
    expect(ids(await owner.client.get(`/api/v1/phone-numbers?inboundAgentId=${agentId}`))).toEqual([a]);
    expect(
      ids(await owner.client.get(`/api/v1/phone-numbers?carrier=telnyx&inboundAgentId=${agentId}`)),
    ).toEqual([]);

    const first = await owner.client.get('/api/v1/phone-numbers?limit=2');
    expect(ids(first)).toEqual([c, b]);
    const second = await owner.client.get(`/api/v1/phone-numbers?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ data: [expect.objectContaining({ id: a })], nextCursor: null });

    const badFilter = await owner.client.get('/api/v1/phone-numbers?carrier=vonage');
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.error.details).toEqual([expect.objectContaining({ path: 'querystring.carrier' })]);
  });

  it('stops showing an agent as the inbound agent once it is deleted', async () => {
    const owner = await h.signup('deleted-agent');
    const agentId = await newAgent(owner);
    const created = await register(owner, {
      carrier: 'twilio',
      number: freshNumber(),
      inboundAgentId: agentId,
    });
    await owner.client.delete(`/api/v1/agents/${agentId}`);
    expect((await owner.client.get(`/api/v1/phone-numbers/${created.id}`)).body.inboundAgentId).toBeNull();
    expect(ids(await owner.client.get(`/api/v1/phone-numbers?inboundAgentId=${agentId}`))).toEqual([]);
  });
});

describe('editing and deleting numbers', () => {
  it('renames, re-points and detaches, but never changes the carrier or the number', async () => {
    const owner = await h.signup('edit');
    const credentialId = await newCredential(owner, 'twilio');
    const plivoCredential = await newCredential(owner, 'plivo');
    const agentId = await newAgent(owner);
    const created = await register(owner, { carrier: 'twilio', number: freshNumber(), credentialId });
    const url = `/api/v1/phone-numbers/${created.id}`;

    const edited = await owner.client.patch(url, { name: 'Sales', inboundAgentId: agentId });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: 'Sales', credentialId, inboundAgentId: agentId });

    const wrongCarrier = await owner.client.patch(url, { credentialId: plivoCredential });
    expect(wrongCarrier.status).toBe(422);
    expect(wrongCarrier.body.error.details).toEqual([
      { path: 'credentialId', message: 'the credential is for plivo, not twilio' },
    ]);

    const detached = await owner.client.patch(url, { credentialId: null, inboundAgentId: null });
    expect(detached.status).toBe(200);
    expect(detached.body).toMatchObject({ name: 'Sales', credentialId: null, inboundAgentId: null });

    for (const body of [{ number: freshNumber() }, { carrier: 'telnyx' }, {}]) {
      const refused = await owner.client.patch(url, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.code).toBe('invalid_request');
    }
    expect((await owner.client.get(url)).body).toMatchObject({ carrier: 'twilio', number: created.number });

    // An edit that changes nothing is not an edit.
    await owner.client.patch(url, { name: 'Sales' });
    const log = await auditRows(h.database, owner.organizationId);
    const numberLog = log.filter((row) => row.targetId === created.id);
    expect(numberLog.map((row) => row.action)).toEqual([
      'phone_number.create',
      'phone_number.update',
      'phone_number.update',
    ]);
    expect(numberLog[1]?.details).toEqual({ changed: ['name', 'inboundAgentId'], inboundAgentId: agentId });
    expect(numberLog[2]?.details).toEqual({
      changed: ['credentialId', 'inboundAgentId'],
      credentialId: null,
      inboundAgentId: null,
    });
    // The audit log keeps no phone numbers.
    expect(JSON.stringify(numberLog)).not.toContain(created.number);
  });

  it('deletes for good, 404s afterwards, and frees the number', async () => {
    const owner = await h.signup('delete');
    const number = freshNumber();
    const created = await register(owner, { carrier: 'vobiz', number });
    const url = `/api/v1/phone-numbers/${created.id}`;
    expect((await owner.client.delete(url)).status).toBe(204);
    for (const response of [
      await owner.client.get(url),
      await owner.client.patch(url, { name: 'again' }),
      await owner.client.delete(url),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('phone_number_not_found');
    }
    const other = await h.signup('delete-other');
    expect((await other.client.post('/api/v1/phone-numbers', { carrier: 'vobiz', number })).status).toBe(201);
    const log = (await auditRows(h.database, owner.organizationId)).filter((r) => r.targetId === created.id);
    expect(log.map((r) => [r.action, r.details])).toEqual([
      ['phone_number.create', { carrier: 'vobiz' }],
      ['phone_number.delete', { carrier: 'vobiz' }],
    ]);
  });

  it('keeps a credential from being deleted while a number uses it', async () => {
    const owner = await h.signup('cred-in-use');
    const credentialId = await newCredential(owner, 'telnyx');
    const created = await register(owner, { carrier: 'telnyx', number: freshNumber(), credentialId });
    const refused = await owner.client.delete(`/api/v1/credentials/${credentialId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'credential_in_use',
      message: expect.stringContaining('1 phone number(s)'),
      details: { agentIds: [], phoneNumberIds: [created.id] },
    });
    expect((await owner.client.get(`/api/v1/credentials/${credentialId}`)).status).toBe(200);

    await owner.client.patch(`/api/v1/phone-numbers/${created.id}`, { credentialId: null });
    expect((await owner.client.delete(`/api/v1/credentials/${credentialId}`)).status).toBe(204);
  });
});

describe('who may see and change numbers', () => {
  it('another organization’s user and API key get 404, and their list stays empty', async () => {
    const a = await h.signup('tenant-a');
    const b = await h.signup('tenant-b');
    const created = await register(a, { carrier: 'twilio', number: freshNumber(), name: 'A line' });
    const bKey = await h.apiKey(b, ['phone_numbers:write']);
    const url = `/api/v1/phone-numbers/${created.id}`;
    for (const client of [b.client, bKey]) {
      for (const response of [
        await client.get(url),
        await client.patch(url, { name: 'stolen' }),
        await client.delete(url),
      ]) {
        expect(response.status).toBe(404);
        expect(response.body.error.code).toBe('phone_number_not_found');
      }
      expect((await client.get('/api/v1/phone-numbers')).body.data).toEqual([]);
    }
    expect((await b.client.inOrganization(a.organizationId).get('/api/v1/phone-numbers')).status).toBe(404);
    expect((await a.client.get(url)).body.name).toBe('A line');
  });

  it('viewers and members read numbers but cannot change them; admins can', async () => {
    const owner = await h.signup('roles');
    const created = await register(owner, { carrier: 'twilio', number: freshNumber() });
    const url = `/api/v1/phone-numbers/${created.id}`;
    for (const role of ['viewer', 'member'] as const) {
      const user = await addMember(h, owner, role);
      const list = await user.client.get('/api/v1/phone-numbers');
      expect(list.status).toBe(200);
      expect(ids(list)).toEqual([created.id]);
      for (const response of [
        await user.client.post('/api/v1/phone-numbers', { carrier: 'twilio', number: freshNumber() }),
        await user.client.patch(url, { name: 'renamed' }),
        await user.client.delete(url),
      ]) {
        expect([response.status, response.body.error.code]).toEqual([403, 'forbidden']);
        expect(response.body.error.details).toEqual({ required: 'phone_numbers:write' });
      }
    }
    const admin = await addMember(h, owner, 'admin');
    expect(
      (await admin.client.post('/api/v1/phone-numbers', { carrier: 'twilio', number: freshNumber() })).status,
    ).toBe(201);
    expect((await admin.client.patch(url, { name: 'renamed' })).status).toBe(200);
    expect((await admin.client.delete(url)).status).toBe(204);
  });

  it('API keys need phone_numbers:read to read numbers and phone_numbers:write to change them', async () => {
    const owner = await h.signup('scopes');
    const reader = await h.apiKey(owner, ['phone_numbers:read']);
    const writer = await h.apiKey(owner, ['phone_numbers:write']);
    const agentsOnly = await h.apiKey(owner, ['agents:write']);
    const body = () => ({ carrier: 'telnyx', number: freshNumber() });
    expect((await reader.post('/api/v1/phone-numbers', body())).status).toBe(403);
    expect((await agentsOnly.get('/api/v1/phone-numbers')).status).toBe(403);
    const created = await writer.post('/api/v1/phone-numbers', body());
    expect(created.status).toBe(201);
    expect((await reader.get(`/api/v1/phone-numbers/${created.body.id}`)).body.id).toBe(created.body.id);
    expect((await reader.delete(`/api/v1/phone-numbers/${created.body.id}`)).status).toBe(403);
    expect((await writer.delete(`/api/v1/phone-numbers/${created.body.id}`)).status).toBe(204);
  });

  it('replays a registration retried with the same Idempotency-Key instead of answering 409', async () => {
    const owner = await h.signup('idempotent');
    const headers = { 'idempotency-key': 'register-line-1' };
    const body = { carrier: 'twilio', number: freshNumber() };
    const first = await owner.client.post('/api/v1/phone-numbers', body, headers);
    const retry = await owner.client.post('/api/v1/phone-numbers', body, headers);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(ids(await owner.client.get('/api/v1/phone-numbers'))).toEqual([first.body.id]);
  });
});

describe('routing an incoming call (resolveInboundRoute)', () => {
  it('finds the organization, credential and published agent of the dialled number, or says why not', async () => {
    const owner = await h.signup('routing');
    const credentialId = await newCredential(owner, 'twilio');
    const agentId = await newAgent(owner);
    const number = freshNumber();
    const created = await register(owner, { carrier: 'twilio', number, credentialId });
    const refusedWith = (reason: string) => ({
      reason,
      organizationId: owner.organizationId,
      phoneNumberId: created.id,
      credentialId,
      agent: null,
    });

    expect(await resolveInboundRoute(h.deps, 'twilio', freshNumber())).toEqual({
      reason: 'unknown_number',
      organizationId: null,
      phoneNumberId: null,
      credentialId: null,
      agent: null,
    });
    // The same number at another carrier is not this one.
    expect((await resolveInboundRoute(h.deps, 'plivo', number)).reason).toBe('unknown_number');
    expect(await resolveInboundRoute(h.deps, 'twilio', number)).toEqual(refusedWith('no_agent'));

    await owner.client.patch(`/api/v1/phone-numbers/${created.id}`, { inboundAgentId: agentId });
    expect(await resolveInboundRoute(h.deps, 'twilio', number)).toEqual(refusedWith('agent_not_published'));

    await owner.client.post(`/api/v1/agents/${agentId}/publish`);
    expect(await resolveInboundRoute(h.deps, 'twilio', number)).toEqual({
      reason: null,
      organizationId: owner.organizationId,
      phoneNumberId: created.id,
      credentialId,
      agent: { id: agentId, publishedVersion: 1 },
    });

    const suspended = await h.operator.client.post(
      `/api/v1/admin/organizations/${owner.organizationId}/suspend`,
      {
        reason: 'unpaid invoice',
      },
    );
    expect(suspended.status).toBe(200);
    expect(await resolveInboundRoute(h.deps, 'twilio', number)).toEqual(
      refusedWith('organization_suspended'),
    );
    await h.operator.client.post(`/api/v1/admin/organizations/${owner.organizationId}/reactivate`);
    expect((await resolveInboundRoute(h.deps, 'twilio', number)).reason).toBeNull();

    await owner.client.delete(`/api/v1/agents/${agentId}`);
    expect(await resolveInboundRoute(h.deps, 'twilio', number)).toEqual(refusedWith('no_agent'));
  });

  it('routes a published agent’s number even without a credential, saying so with a null credentialId', async () => {
    const owner = await h.signup('routing-bare');
    const agentId = await newAgent(owner, { publish: true });
    const number = freshNumber();
    await register(owner, { carrier: 'exotel', number, inboundAgentId: agentId });
    expect(await resolveInboundRoute(h.deps, 'exotel', number)).toMatchObject({
      reason: null,
      credentialId: null,
      agent: { id: agentId, publishedVersion: 1 },
    });
  });
});
