// /api/v1/calls through the HTTP API: placing outbound calls through a fake dialer, the checks on what a
// call names, the per-organization limits (a concurrent burst, the per-minute window, Retry-After), the
// dialer's failures, canceling (POST /calls/:id/cancel), reading and listing, and who may do what. The
// call history (filters, sorts, timeline, recording, export, erasure) is in calls-history.db.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCarrierStatus } from '@parley/services';
import { calls, eq } from '@parley/db';
import { FakeDialer } from '../../../testing/fake-dialer.js';
import { createHarness, type Client, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';

const LIMITS = { maxConcurrentCalls: 3, callsPerMinute: 5 };
const dialer = new FakeDialer();
/** The services' clock: frozen, moved only by the tests that need time to pass. */
let clock = Date.parse('2026-03-02T10:00:00.000Z');

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ dialer, callLimits: LIMITS, now: () => new Date(clock) });
}, 60_000);
afterAll(() => h.close());

let counter = 0;
/** A number no other test registered: numbers are unique per carrier on the whole instance. */
const freshNumber = () => `+4420796${String(++counter).padStart(5, '0')}`;
const CALLEE = '+14155550123';

async function created(client: Client, url: string, body: unknown): Promise<string> {
  const response = await client.post(url, body);
  if (response.status !== 201) throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id as string;
}

const twilioCredential = (user: SignedInUser) =>
  created(user.client, '/api/v1/credentials', {
    name: 'Twilio account',
    provider: 'twilio',
    values: {
      accountSid: 'AC0123456789abcdef0123456789abcdef',
      authToken: '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e',
    },
  });

async function newAgent(user: SignedInUser, options: { publish: boolean }) {
  const id = await created(user.client, '/api/v1/agents', {
    name: 'Reminder line',
    variables: [{ name: 'first_name' }, { name: 'visits' }],
    firstMessage: 'Hello {{first_name}}!',
  });
  if (options.publish) {
    const published = await user.client.post(`/api/v1/agents/${id}/publish`);
    if (published.status >= 300) throw new Error(JSON.stringify(published.body));
  }
  return id;
}

interface Setup {
  user: SignedInUser;
  agentId: string;
  credentialId: string;
  phoneNumberId: string;
  from: string;
}

/** A fresh organization with a published agent and a Twilio number that has its credential. */
async function setUp(label: string): Promise<Setup> {
  const user = await h.signup(label);
  const credentialId = await twilioCredential(user);
  const agentId = await newAgent(user, { publish: true });
  const from = freshNumber();
  const phoneNumberId = await created(user.client, '/api/v1/phone-numbers', {
    carrier: 'twilio',
    number: from,
    credentialId,
  });
  return { user, agentId, credentialId, phoneNumberId, from };
}

const place = (s: Setup, extra: Record<string, unknown> = {}, client: Client = s.user.client) =>
  client.post('/api/v1/calls', { agentId: s.agentId, from: s.from, to: CALLEE, ...extra });

async function placed(s: Setup, extra: Record<string, unknown> = {}) {
  const response = await place(s, extra);
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body as { id: string; carrierCallId: string; [field: string]: unknown };
}

const callRow = async (id: string) => (await h.database.db.select().from(calls).where(eq(calls.id, id)))[0];

describe('placing a call', () => {
  it('records the call queued, dials it through the from-number’s carrier and keeps the carrier’s id', async () => {
    const s = await setUp('place');
    const response = await place(s, {
      variables: { first_name: 'Ada', visits: 3 },
      metadata: { crmId: 'lead-42', vip: true },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const call = response.body;
    expect(call).toEqual({
      id: expect.any(String),
      agentId: s.agentId,
      agentVersion: 1,
      direction: 'outbound',
      transport: 'twilio',
      status: 'queued',
      endReason: null,
      carrierReason: null,
      carrierCallId: expect.stringMatching(/^fake-/),
      answeredBy: null,
      from: s.from,
      to: CALLEE,
      variables: { first_name: 'Ada', visits: 3 },
      metadata: { crmId: 'lead-42', vip: true },
      createdAt: new Date(clock).toISOString(),
      answeredAt: null,
      endedAt: null,
      durationSeconds: null,
      durations: { ringSeconds: null, talkSeconds: null, totalSeconds: null },
      recording: { available: false, durationMs: null },
      latency: null,
      cost: null,
    });
    expect(dialer.dialOf(call.id)).toEqual({
      callId: call.id,
      organizationId: s.user.organizationId,
      carrier: 'twilio',
      phoneNumberId: s.phoneNumberId,
      credentialId: s.credentialId,
      from: s.from,
      to: CALLEE,
      // The agent's voicemail settings default to detecting answering machines.
      machineDetection: true,
    });
    expect((await s.user.client.get(`/api/v1/calls/${call.id}`)).body).toEqual({ ...call, leadsCount: 0 });
    const [audit] = await auditRows(h.database, s.user.organizationId, 'call.create');
    expect(audit?.targetId).toBe(call.id);
    // The audit log keeps no phone numbers.
    expect(JSON.stringify(audit)).not.toContain(CALLEE.slice(1));
    expect(JSON.stringify(audit)).not.toContain(s.from.slice(1));
  });

  it('uses the agent’s published version, not its newer draft', async () => {
    const s = await setUp('version');
    await s.user.client.patch(`/api/v1/agents/${s.agentId}`, { firstMessage: 'Hi {{first_name}}' });
    await s.user.client.post(`/api/v1/agents/${s.agentId}/publish`);
    await s.user.client.patch(`/api/v1/agents/${s.agentId}`, { firstMessage: 'Draft only' });
    expect((await placed(s)).agentVersion).toBe(2);
  });

  it('replays a retry with the same Idempotency-Key instead of calling twice', async () => {
    const s = await setUp('idempotent');
    const body = { agentId: s.agentId, from: s.from, to: CALLEE };
    const headers = { 'idempotency-key': 'call-once' };
    const first = await s.user.client.post('/api/v1/calls', body, headers);
    const again = await s.user.client.post('/api/v1/calls', body, headers);
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(dialer.dials.filter((d) => d.organizationId === s.user.organizationId)).toHaveLength(1);
  });
});

describe('what a call names is checked, field by field', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('checks');
  });

  async function refusal(extra: Record<string, unknown>) {
    const dialsBefore = dialer.dials.length;
    const response = await place(s, extra);
    expect(dialer.dials.length, 'nothing was dialed').toBe(dialsBefore);
    return {
      status: response.status,
      code: response.body.error?.code,
      details: response.body.error?.details,
    };
  }

  it('refuses an agent with no published version', async () => {
    const agentId = await newAgent(s.user, { publish: false });
    expect(await refusal({ agentId })).toEqual({
      status: 422,
      code: 'invalid_reference',
      details: [{ path: 'agentId', message: expect.stringContaining('no published version') }],
    });
  });

  it('refuses another organization’s agent like a missing one', async () => {
    const other = await setUp('checks-other');
    expect(await refusal({ agentId: other.agentId })).toEqual({
      status: 422,
      code: 'invalid_reference',
      details: [{ path: 'agentId', message: 'no such agent in this organization' }],
    });
    // Nor may it call from another organization's number.
    expect((await refusal({ from: other.from })).details).toEqual([
      { path: 'from', message: expect.stringContaining('not a phone number of this organization') },
    ]);
  });

  it('refuses a from-number that is not the organization’s, or has no credential', async () => {
    expect((await refusal({ from: freshNumber() })).details).toEqual([
      { path: 'from', message: expect.stringContaining('not a phone number of this organization') },
    ]);
    const bare = freshNumber();
    await created(s.user.client, '/api/v1/phone-numbers', { carrier: 'twilio', number: bare });
    expect(await refusal({ from: bare })).toEqual({
      status: 422,
      code: 'invalid_reference',
      details: [{ path: 'from', message: expect.stringContaining('needs a credential to place calls') }],
    });
  });

  it('refuses numbers that are not E.164', async () => {
    const result = await refusal({ to: '020 7946 0000' });
    expect([result.status, result.code]).toEqual([400, 'invalid_request']);
    expect(result.details).toEqual([{ path: 'body.to', message: expect.stringContaining('E.164') }]);
  });

  it('refuses variables the published version does not declare, and built-in ones', async () => {
    const result = await refusal({ variables: { first_name: 'Ada', favourite_colour: 'teal', now: 'noon' } });
    expect([result.status, result.code]).toEqual([422, 'invalid_reference']);
    expect(result.details).toEqual([
      { path: 'variables.favourite_colour', message: expect.stringContaining('declares no such variable') },
      { path: 'variables.now', message: expect.stringContaining('built-in') },
    ]);
  });

  it('refuses variable values longer than 2000 characters', async () => {
    const result = await refusal({ variables: { first_name: 'x'.repeat(2001) } });
    expect([result.status, result.details]).toEqual([
      400,
      [{ path: 'body.variables.first_name', message: expect.stringContaining('2000') }],
    ]);
  });

  it('names every offending field at once and records no call', async () => {
    const before = (await s.user.client.get('/api/v1/calls')).body.data.length;
    const result = await refusal({
      agentId: await newAgent(s.user, { publish: false }),
      from: freshNumber(),
    });
    expect(result.details.map((d: { path: string }) => d.path)).toEqual(['agentId', 'from']);
    expect((await s.user.client.get('/api/v1/calls')).body.data).toHaveLength(before);
  });
});

describe('limits', () => {
  it('lets exactly the concurrency limit through a burst; the rest are 429 with Retry-After', async () => {
    const s = await setUp('burst');
    const responses = await Promise.all(
      Array.from({ length: LIMITS.maxConcurrentCalls + 5 }, () => place(s)),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(3).fill(201), ...Array(5).fill(429)]);
    for (const refused of responses.filter((r) => r.status === 429)) {
      expect(refused.body.error.code).toBe('too_many_calls');
      expect(refused.headers['retry-after']).toBe(String(refused.body.error.details.retryAfterSeconds));
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    // A line frees up when a call ends: then one more fits.
    const live = responses.find((r) => r.status === 201)!.body.id;
    expect((await s.user.client.post(`/api/v1/calls/${live}/cancel`)).status).toBe(200);
    expect((await place(s)).status).toBe(201);
  });

  it('allows the per-minute number of calls, then answers when the oldest leaves the window', async () => {
    const s = await setUp('rate');
    // Canceled calls hold no line, so only the per-minute limit is in play.
    const placeAndCancel = async () => {
      const call = await placed(s);
      await s.user.client.post(`/api/v1/calls/${call.id}/cancel`);
    };
    await placeAndCancel();
    clock += 20_000;
    for (let i = 1; i < LIMITS.callsPerMinute; i++) await placeAndCancel();

    const refused = await place(s);
    expect([refused.status, refused.body.error.code]).toEqual([429, 'call_rate_limited']);
    // The first call (20 s ago) leaves the 60-second window in 40 s.
    expect(refused.headers['retry-after']).toBe('40');
    expect(refused.body.error.details.retryAfterSeconds).toBe(40);

    clock += 39_000;
    expect((await place(s)).headers['retry-after']).toBe('1');
    clock += 1_000;
    expect((await place(s)).status).toBe(201);
  });
});

describe('when the carrier cannot be reached', () => {
  it('answers 502 dial_failed and records the call failed with the carrier’s reason', async () => {
    const s = await setUp('dial-fails');
    dialer.dialError = 'Twilio 21215: geo permissions do not allow this destination';
    const response = await place(s).finally(() => {
      dialer.dialError = null;
    });
    expect([response.status, response.body.error.code]).toEqual([502, 'dial_failed']);
    const callId = response.body.error.details.callId;
    const call = (await s.user.client.get(`/api/v1/calls/${callId}`)).body;
    expect(call).toMatchObject({
      status: 'failed',
      endReason: 'dial_failed',
      carrierReason: 'Twilio 21215: geo permissions do not allow this destination',
      carrierCallId: null,
      endedAt: expect.any(String),
    });
    // A failed call holds no line.
    for (let i = 0; i < LIMITS.maxConcurrentCalls; i++) expect((await place(s)).status).toBe(201);
  });

  it('answers 503 telephony_unavailable without a dialer, and records the call failed', async () => {
    const bare = await createHarness();
    try {
      const user = await bare.signup('no-dialer');
      const credentialId = await twilioCredential(user);
      const agentId = await created(user.client, '/api/v1/agents', { name: 'A' });
      await user.client.post(`/api/v1/agents/${agentId}/publish`);
      const from = freshNumber();
      await created(user.client, '/api/v1/phone-numbers', { carrier: 'twilio', number: from, credentialId });
      const response = await user.client.post('/api/v1/calls', { agentId, from, to: CALLEE });
      expect([response.status, response.body.error.code]).toEqual([503, 'telephony_unavailable']);
      const call = (await user.client.get(`/api/v1/calls/${response.body.error.details.callId}`)).body;
      expect([call.status, call.endReason]).toEqual(['failed', 'telephony_unavailable']);
    } finally {
      await bare.close();
    }
  });
});

describe('canceling', () => {
  it('hangs up a queued call at the carrier and records it canceled by the API', async () => {
    const s = await setUp('cancel');
    const call = await placed(s);
    const response = await s.user.client.post(`/api/v1/calls/${call.id}/cancel`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: call.id,
      status: 'canceled',
      endReason: 'canceled_by_api',
      endedAt: expect.any(String),
    });
    expect(dialer.hangUps.find((u) => u.callId === call.id)).toEqual({
      callId: call.id,
      organizationId: s.user.organizationId,
      carrier: 'twilio',
      phoneNumberId: s.phoneNumberId,
      credentialId: s.credentialId,
      carrierCallId: call.carrierCallId,
    });
    expect(
      (await auditRows(h.database, s.user.organizationId, 'call.cancel')).map((a) => a.targetId),
    ).toEqual([call.id]);
    // Over now: a second cancel is refused.
    const again = await s.user.client.post(`/api/v1/calls/${call.id}/cancel`);
    expect([again.status, again.body.error.code]).toEqual([409, 'call_not_cancelable']);
  });

  it('cancels a ringing call; refuses one in progress with 409', async () => {
    const s = await setUp('cancel-live');
    const ringing = await placed(s);
    await applyCarrierStatus(
      h.database.db,
      'twilio',
      { carrierCallId: ringing.carrierCallId, status: 'ringing', carrierReason: 'ringing' },
      new Date(clock),
    );
    expect((await s.user.client.post(`/api/v1/calls/${ringing.id}/cancel`)).body.status).toBe('canceled');

    const answered = await placed(s);
    await applyCarrierStatus(
      h.database.db,
      'twilio',
      { carrierCallId: answered.carrierCallId, status: 'in_progress', carrierReason: 'in-progress' },
      new Date(clock),
    );
    const hangUpsBefore = dialer.hangUps.length;
    const refused = await s.user.client.post(`/api/v1/calls/${answered.id}/cancel`);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'call_not_cancelable']);
    expect(dialer.hangUps).toHaveLength(hangUpsBefore);
    expect((await s.user.client.get(`/api/v1/calls/${answered.id}`)).body.status).toBe('in_progress');
  });

  it('hangs up a call canceled while its dial was under way, once the carrier names it', async () => {
    const s = await setUp('cancel-dialing');
    let dialStarted!: (callId: string) => void;
    const dialing = new Promise<string>((resolve) => (dialStarted = resolve));
    let answerDial!: () => void;
    dialer.beforeDialAnswers = async (call) => {
      dialStarted(call.callId);
      await new Promise<void>((resolve) => (answerDial = resolve));
    };
    const posting = place(s);
    const callId = await dialing;
    dialer.beforeDialAnswers = null;

    const canceled = await s.user.client.post(`/api/v1/calls/${callId}/cancel`);
    expect([canceled.status, canceled.body.status, canceled.body.carrierCallId]).toEqual([
      200,
      'canceled',
      null,
    ]);
    expect(dialer.hangUps.filter((u) => u.callId === callId)).toEqual([]);

    answerDial();
    const response = await posting;
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ id: callId, status: 'canceled', endReason: 'canceled_by_api' });
    expect(dialer.hangUps.filter((u) => u.callId === callId)).toEqual([
      expect.objectContaining({ carrierCallId: response.body.carrierCallId }),
    ]);
  });

  it('leaves the call as it was when the carrier refuses to hang up (502)', async () => {
    const s = await setUp('cancel-fails');
    const call = await placed(s);
    dialer.hangUpError = 'carrier unreachable';
    const response = await s.user.client.post(`/api/v1/calls/${call.id}/cancel`).finally(() => {
      dialer.hangUpError = null;
    });
    expect([response.status, response.body.error.code]).toEqual([502, 'hang_up_failed']);
    expect((await callRow(call.id))?.status).toBe('queued');
  });
});

describe('reading and listing', () => {
  it('lists newest first, filters, pages, and never shows another organization’s calls', async () => {
    const s = await setUp('list');
    const first = await placed(s);
    clock += 1_000;
    const second = await placed(s);
    await s.user.client.post(`/api/v1/calls/${first.id}/cancel`);
    const other = await setUp('list-other');
    const foreign = await placed(other);

    const ids = async (query: string) =>
      ((await s.user.client.get(`/api/v1/calls${query}`)).body.data as { id: string }[]).map((c) => c.id);
    expect(await ids('')).toEqual([second.id, first.id]);
    expect(await ids('?status=canceled')).toEqual([first.id]);
    expect(await ids('?direction=outbound&status=queued')).toEqual([second.id]);
    expect(await ids('?direction=inbound')).toEqual([]);
    expect(await ids(`?agentId=${s.agentId}`)).toEqual([second.id, first.id]);
    expect(await ids(`?agentId=${other.agentId}`)).toEqual([]);
    const secondAt = encodeURIComponent(new Date(clock).toISOString());
    expect(await ids(`?createdAfter=${secondAt}`)).toEqual([second.id]);
    expect(await ids(`?createdBefore=${secondAt}`)).toEqual([first.id]);

    const page = (await s.user.client.get('/api/v1/calls?limit=1')).body;
    expect(page.data.map((c: { id: string }) => c.id)).toEqual([second.id]);
    expect(await ids(`?limit=1&cursor=${page.nextCursor}`)).toEqual([first.id]);

    expect(JSON.stringify((await s.user.client.get('/api/v1/calls?limit=100')).body)).not.toContain(
      foreign.id,
    );
    for (const response of [
      await s.user.client.get(`/api/v1/calls/${foreign.id}`),
      await s.user.client.delete(`/api/v1/calls/${foreign.id}`),
      await s.user.client.post(`/api/v1/calls/${foreign.id}/cancel`),
    ]) {
      expect([response.status, response.body.error.code]).toEqual([404, 'call_not_found']);
    }
    expect((await callRow(foreign.id))?.status).toBe('queued');
  });

  it('never answers the media token or the runtime', async () => {
    const s = await setUp('secret-free');
    const call = await placed(s);
    await h.database.db
      .update(calls)
      .set({ mediaTokenHash: 'hash-of-token', runtimeId: 'rt-1' })
      .where(eq(calls.id, call.id));
    const text = JSON.stringify((await s.user.client.get(`/api/v1/calls/${call.id}`)).body);
    expect(text).not.toContain('hash-of-token');
    expect(text).not.toContain('rt-1');
  });

  it('answers the duration from answer to end, and whether a recording is stored', async () => {
    const s = await setUp('duration');
    const call = await placed(s);
    await h.database.db
      .update(calls)
      .set({
        status: 'completed',
        answeredAt: new Date(clock),
        endedAt: new Date(clock + 83_400),
        recordingPath: 'recordings/x.wav',
        recordingDurationMs: 83_000,
      })
      .where(eq(calls.id, call.id));
    expect((await s.user.client.get(`/api/v1/calls/${call.id}`)).body).toMatchObject({
      durationSeconds: 83,
      recording: { available: true, durationMs: 83_000 },
    });
  });
});

describe('who may place calls', () => {
  it('a viewer reads calls but cannot place, cancel or erase them', async () => {
    const s = await setUp('roles');
    const call = await placed(s);
    const viewer = await addMember(h, s.user, 'viewer');
    expect((await viewer.client.get(`/api/v1/calls/${call.id}`)).status).toBe(200);
    for (const response of [
      await place(s, {}, viewer.client),
      await viewer.client.post(`/api/v1/calls/${call.id}/cancel`),
      await viewer.client.delete(`/api/v1/calls/${call.id}`),
    ])
      expect([response.status, response.body.error.code]).toEqual([403, 'forbidden']);
    const member = await addMember(h, s.user, 'member');
    expect((await place(s, {}, member.client)).status).toBe(201);
  });

  it('an API key needs calls:write to place calls; calls:read reads them', async () => {
    const s = await setUp('keys');
    const reader = await h.apiKey(s.user, ['calls:read']);
    const writer = await h.apiKey(s.user, ['calls:write']);
    const agentsOnly = await h.apiKey(s.user, ['agents:read']);
    const call = await place(s, {}, writer);
    expect(call.status).toBe(201);
    expect((await reader.get(`/api/v1/calls/${call.body.id}`)).status).toBe(200);
    expect((await reader.get('/api/v1/calls')).body.data).toHaveLength(1);
    expect((await place(s, {}, reader)).status).toBe(403);
    expect((await reader.post(`/api/v1/calls/${call.body.id}/cancel`)).status).toBe(403);
    expect((await reader.delete(`/api/v1/calls/${call.body.id}`)).status).toBe(403);
    expect((await agentsOnly.get('/api/v1/calls')).status).toBe(403);
    expect((await writer.post(`/api/v1/calls/${call.body.id}/cancel`)).body.status).toBe('canceled');
  });
});
