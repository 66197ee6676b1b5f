// GET /api/v1/analytics/summary through the HTTP API: figures of the caller's organization only, the
// agent filter, API keys with calls:read, and refused ranges naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls } from '@parley/db';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';

let h: Harness;
let owner: SignedInUser;
let stranger: SignedInUser;
let agentId: string;
let strangerAgentId: string;

async function newAgent(user: SignedInUser) {
  const response = await user.client.post('/api/v1/agents', { name: 'Sales' });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.id as string;
}

/** An ended call created at `createdAt`, answered after 5 s when it has a talk time. */
async function newCall(
  user: SignedInUser,
  fields: {
    agentId: string | null;
    createdAt: string;
    status: string;
    endReason: string;
    talkSeconds?: number;
  },
) {
  const createdAt = new Date(fields.createdAt);
  const answeredAt = fields.talkSeconds === undefined ? null : new Date(createdAt.getTime() + 5000);
  const endedAt = new Date((answeredAt ?? createdAt).getTime() + (fields.talkSeconds ?? 3) * 1000);
  await h.database.db.insert(calls).values({
    organizationId: user.organizationId,
    agentId: fields.agentId,
    direction: 'inbound',
    transport: 'twilio',
    status: fields.status,
    endReason: fields.endReason,
    createdAt,
    answeredAt,
    endedAt,
    latency: answeredAt ? { turns: 2, voiceToVoiceMs: { p50: 700, p95: 1100 } } : null,
  });
}

beforeAll(async () => {
  h = await createHarness();
  owner = await h.signup('analytics');
  stranger = await h.signup('stranger');
  agentId = await newAgent(owner);
  strangerAgentId = await newAgent(stranger);
  await newCall(owner, {
    agentId,
    createdAt: '2026-05-01T10:00:00Z',
    status: 'completed',
    endReason: 'caller_hung_up',
    talkSeconds: 45,
  });
  await newCall(owner, {
    agentId: null,
    createdAt: '2026-05-02T10:00:00Z',
    status: 'busy',
    endReason: 'busy',
  });
  await newCall(stranger, {
    agentId: strangerAgentId,
    createdAt: '2026-05-01T11:00:00Z',
    status: 'completed',
    endReason: 'agent_ended',
    talkSeconds: 600,
  });
}, 60_000);
afterAll(() => h.close());

const MAY = 'from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z';

describe('GET /api/v1/analytics/summary', () => {
  it('sums up the caller’s organization only', async () => {
    const response = await owner.client.get(`/api/v1/analytics/summary?${MAY}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      from: '2026-05-01T00:00:00.000Z',
      to: '2026-06-01T00:00:00.000Z',
      agentId: null,
      calls: 2,
      answered: 1,
      answeredRate: 0.5,
      talkSeconds: { total: 45, average: 45 },
      byStatus: { completed: 1, busy: 1 },
      byEndReason: { caller_hung_up: 1, busy: 1 },
      latency: { calls: 1, voiceToVoiceP50Ms: 700, voiceToVoiceP95Ms: 1100 },
      days: [
        { date: '2026-05-01', calls: 1, answered: 1, talkSeconds: 45 },
        { date: '2026-05-02', calls: 1, answered: 0, talkSeconds: 0 },
      ],
    });
  });

  it('narrows to one agent, and answers an API key with calls:read', async () => {
    const key = await h.apiKey(owner, ['calls:read']);
    const response = await key.get(`/api/v1/analytics/summary?${MAY}&agentId=${agentId}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ agentId, calls: 1, answered: 1, byStatus: { completed: 1 } });
  });

  it('treats another organization’s agent as not found', async () => {
    const response = await owner.client.get(`/api/v1/analytics/summary?${MAY}&agentId=${strangerAgentId}`);
    expect([response.status, response.body.error.code]).toEqual([404, 'agent_not_found']);
  });

  it('refuses missing, reversed and too long ranges, naming the field', async () => {
    const refused = async (query: string) => {
      const response = await owner.client.get(`/api/v1/analytics/summary?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      return response.body.error.details.map((d: { path: string }) => d.path);
    };
    expect(await refused('to=2026-06-01T00:00:00Z')).toEqual(['querystring.from']);
    expect(await refused('from=yesterday&to=2026-06-01T00:00:00Z')).toEqual(['querystring.from']);
    expect(await refused('from=2026-06-01T00:00:00Z&to=2026-05-01T00:00:00Z')).toEqual(['querystring.to']);
    // 401 days.
    expect(await refused('from=2025-01-01T00:00:00Z&to=2026-02-06T00:00:00Z')).toEqual(['querystring.to']);
    // Exactly 400 days is allowed.
    expect(
      (await owner.client.get('/api/v1/analytics/summary?from=2025-01-01T00:00:00Z&to=2026-02-05T00:00:00Z'))
        .status,
    ).toBe(200);
  });
});
