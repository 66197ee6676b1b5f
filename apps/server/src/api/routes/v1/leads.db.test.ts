// GET /api/v1/leads through the HTTP API: leads saved by the runtime (saveLead) listed newest first,
// filtered by call and agent, paged, scoped to the organization, deleted with their call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls, eq } from '@parley/db';
import { saveLead } from '@parley/services';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember } from '../../../testing/teams.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(() => h.close());

async function newAgent(user: SignedInUser) {
  const response = await user.client.post('/api/v1/agents', { name: 'Sales' });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.id as string;
}

async function newCall(organizationId: string, agentId: string) {
  const [row] = await h.database.db
    .insert(calls)
    .values({ organizationId, agentId, direction: 'inbound', transport: 'twilio', status: 'completed' })
    .returning({ id: calls.id });
  return row!.id;
}

const lead = (organizationId: string, callId: string | null, agentId: string | null, email: string) =>
  saveLead(h.database.db, { organizationId, callId, agentId, toolId: null, fields: { email } }, new Date());

const emails = (body: { data: { fields: { email: string } }[] }) => body.data.map((l) => l.fields.email);

describe('leads', () => {
  it('are listed newest first, by call and by agent, a page at a time', async () => {
    const owner = await h.signup('leads');
    const agentId = await newAgent(owner);
    const otherAgentId = await newAgent(owner);
    const callId = await newCall(owner.organizationId, agentId);
    const otherCallId = await newCall(owner.organizationId, otherAgentId);
    const first = await lead(owner.organizationId, callId, agentId, 'ada@example.com');
    await lead(owner.organizationId, otherCallId, otherAgentId, 'bob@example.com');
    await lead(owner.organizationId, callId, agentId, 'cy@example.com');

    const all = await owner.client.get('/api/v1/leads');
    expect(all.status).toBe(200);
    expect(emails(all.body)).toEqual(['cy@example.com', 'bob@example.com', 'ada@example.com']);
    expect(all.body.data[2]).toEqual({
      id: first.id,
      callId,
      agentId,
      toolId: null,
      fields: { email: 'ada@example.com' },
      createdAt: expect.any(String),
    });
    expect(emails((await owner.client.get(`/api/v1/leads?callId=${callId}`)).body)).toEqual([
      'cy@example.com',
      'ada@example.com',
    ]);
    expect(emails((await owner.client.get(`/api/v1/leads?agentId=${otherAgentId}`)).body)).toEqual([
      'bob@example.com',
    ]);
    const page = await owner.client.get('/api/v1/leads?limit=2');
    expect(emails(page.body)).toEqual(['cy@example.com', 'bob@example.com']);
    const next = await owner.client.get(`/api/v1/leads?limit=2&cursor=${page.body.nextCursor}`);
    expect(next.body).toMatchObject({ data: [{ id: first.id }], nextCursor: null });
  });

  it('are the organization’s own: another sees none, even filtering by the call', async () => {
    const owner = await h.signup('leads-own');
    const agentId = await newAgent(owner);
    const callId = await newCall(owner.organizationId, agentId);
    await lead(owner.organizationId, callId, agentId, 'own@example.com');
    const stranger = await h.signup('leads-stranger');
    expect((await stranger.client.get('/api/v1/leads')).body.data).toEqual([]);
    expect((await stranger.client.get(`/api/v1/leads?callId=${callId}`)).body.data).toEqual([]);
  });

  it('are read by whoever may read calls: a viewer may, a key without calls:read may not', async () => {
    const owner = await h.signup('leads-roles');
    await lead(owner.organizationId, null, null, 'seen@example.com');
    const viewer = await addMember(h, owner, 'viewer');
    expect(emails((await viewer.client.get('/api/v1/leads')).body)).toEqual(['seen@example.com']);
    const key = await h.apiKey(owner, ['agents:read']);
    const refused = await key.get('/api/v1/leads');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
  });

  it('go when their call is deleted', async () => {
    const owner = await h.signup('leads-delete');
    const agentId = await newAgent(owner);
    const callId = await newCall(owner.organizationId, agentId);
    await lead(owner.organizationId, callId, agentId, 'gone@example.com');
    await lead(owner.organizationId, null, agentId, 'kept@example.com');
    await h.database.db.delete(calls).where(eq(calls.id, callId));
    expect(emails((await owner.client.get('/api/v1/leads')).body)).toEqual(['kept@example.com']);
  });
});
