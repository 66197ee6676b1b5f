// /api/v1/webhook-endpoints through HTTP: the signing secret is shown on creation and rotation only
// (and stored sealed), members cannot manage endpoints, another organization's endpoints and
// deliveries are 404, and a test ping's attempt is in the delivery log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, webhookEndpoints } from '@parley/db';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';

let h: Harness;
let owner: SignedInUser;
let other: SignedInUser;
beforeAll(async () => {
  h = await createHarness();
  owner = await h.signup('hooks');
  other = await h.signup('other');
});
afterAll(() => h.close());

// An address the SSRF guard refuses (no operator allow-list here): pings fail at once, offline.
const URL_REFUSED = 'http://127.0.0.1:9/hooks';

async function rawRow(id: string) {
  const [row] = await h.database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  return row!;
}

describe('webhook endpoints', () => {
  it('shows the signing secret once, on creation, and keeps it sealed', async () => {
    const created = await owner.client.post('/api/v1/webhook-endpoints', {
      url: 'https://hooks.example.test/parley',
      description: 'CRM',
      eventTypes: ['call.ended', 'call.ended', 'call.status_changed'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      url: 'https://hooks.example.test/parley',
      description: 'CRM',
      eventTypes: ['call.ended', 'call.status_changed'],
      enabled: true,
      disabledReason: null,
      consecutiveFailures: 0,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{40,}$/),
    });
    const { secret, ...endpoint } = created.body;

    const got = await owner.client.get(`/api/v1/webhook-endpoints/${endpoint.id}`);
    expect(got.body).toEqual(endpoint);
    const listed = await owner.client.get('/api/v1/webhook-endpoints');
    expect(listed.body.data).toEqual([endpoint]);
    expect(JSON.stringify(await rawRow(endpoint.id))).not.toContain(secret.slice(6));

    const rotated = await owner.client.post(`/api/v1/webhook-endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);
    expect(
      h.deps.secretBox.open({
        keyId: (await rawRow(endpoint.id)).secretKeyId,
        ciphertext: (await rawRow(endpoint.id)).secretCiphertext,
      }),
    ).toBe(rotated.body.secret);
    expect((await auditRows(h.database, owner.organizationId, 'webhook_endpoint.rotate_secret')).length).toBe(
      1,
    );
  });

  it('edits, re-enables (clearing the failure count) and deletes an endpoint', async () => {
    const { body } = await owner.client.post('/api/v1/webhook-endpoints', { url: URL_REFUSED });
    expect(body.eventTypes).toEqual([]);
    await h.database.db
      .update(webhookEndpoints)
      .set({ enabled: false, disabledReason: 'failing', consecutiveFailures: 12, firstFailureAt: new Date() })
      .where(eq(webhookEndpoints.id, body.id));
    const enabled = await owner.client.patch(`/api/v1/webhook-endpoints/${body.id}`, {
      enabled: true,
      eventTypes: ['call.transcript'],
    });
    expect(enabled.body).toMatchObject({
      enabled: true,
      disabledReason: null,
      consecutiveFailures: 0,
      eventTypes: ['call.transcript'],
    });
    expect((await owner.client.delete(`/api/v1/webhook-endpoints/${body.id}`)).status).toBe(204);
    expect((await owner.client.get(`/api/v1/webhook-endpoints/${body.id}`)).body.error.code).toBe(
      'webhook_endpoint_not_found',
    );
  });

  it('refuses URLs that are not http(s) and unknown event types', async () => {
    for (const body of [
      { url: 'ftp://hooks.example.test/' },
      { url: 'not a url' },
      { url: 'https://hooks.example.test/', eventTypes: ['call.started'] },
      { url: 'https://hooks.example.test/', secret: 'mine' },
    ]) {
      const response = await owner.client.post('/api/v1/webhook-endpoints', body);
      expect([response.status, response.body.error.code], JSON.stringify(body)).toEqual([
        400,
        'invalid_request',
      ]);
    }
  });

  it('sends a test ping and logs the attempt with its outcome', async () => {
    const { body } = await owner.client.post('/api/v1/webhook-endpoints', { url: URL_REFUSED });
    const ping = await owner.client.post(`/api/v1/webhook-endpoints/${body.id}/test`);
    expect(ping.status).toBe(200);
    expect(ping.body).toMatchObject({
      eventType: 'ping',
      status: 'abandoned',
      attempts: 1,
      lastErrorCode: 'address_refused',
      attemptLog: [{ attempt: 1, responseStatus: null, errorCode: 'address_refused' }],
    });
    const log = await owner.client.get(`/api/v1/webhook-endpoints/${body.id}/deliveries`);
    expect(log.body.data).toEqual([ping.body]);
    // A disabled endpoint's deliveries are not replayed until it is enabled again.
    await owner.client.patch(`/api/v1/webhook-endpoints/${body.id}`, { enabled: false });
    const refused = await owner.client.post(`/api/v1/webhook-deliveries/${ping.body.id}/replay`);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'conflict']);
  });

  it('is managed by admins: a member may neither read nor write endpoints', async () => {
    const member = await addMember(h, owner, 'member', 'hooks-member');
    const admin = await addMember(h, owner, 'admin', 'hooks-admin');
    expect((await member.client.get('/api/v1/webhook-endpoints')).status).toBe(403);
    const denied = await member.client.post('/api/v1/webhook-endpoints', { url: URL_REFUSED });
    expect([denied.status, denied.body.error.details]).toEqual([403, { required: 'webhooks:write' }]);
    expect((await admin.client.post('/api/v1/webhook-endpoints', { url: URL_REFUSED })).status).toBe(201);
    const readKey = await h.apiKey(owner, ['webhooks:read']);
    expect((await readKey.get('/api/v1/webhook-endpoints')).status).toBe(200);
    expect((await readKey.post('/api/v1/webhook-endpoints', { url: URL_REFUSED })).status).toBe(403);
  });

  it('never shows another organization’s endpoints or deliveries', async () => {
    const { body } = await owner.client.post('/api/v1/webhook-endpoints', { url: URL_REFUSED });
    const ping = await owner.client.post(`/api/v1/webhook-endpoints/${body.id}/test`);
    for (const response of [
      await other.client.get(`/api/v1/webhook-endpoints/${body.id}`),
      await other.client.get(`/api/v1/webhook-endpoints/${body.id}/deliveries`),
      await other.client.post(`/api/v1/webhook-endpoints/${body.id}/rotate-secret`),
      await other.client.post(`/api/v1/webhook-endpoints/${body.id}/test`),
      await other.client.post(`/api/v1/webhook-deliveries/${ping.body.id}/replay`),
    ]) {
      expect(response.status).toBe(404);
    }
    expect((await other.client.get('/api/v1/webhook-endpoints')).body.data).toEqual([]);
  });
});
