// GET /api/v1/events (SSE), /api/v1/events/ws and GET /api/v1/calls/active through the HTTP API: who
// may watch, that an organization sees only its own calls, the filters, resuming by id, and the calls
// not over yet on every runtime. The stream runs on a listening server (a real HTTP connection); the
// refusals come before any stream, so app.inject() sees them.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveEventInput } from '@parley/contracts';
import { calls } from '@parley/db';
import { InProcessLiveEventLog } from '../../../live/in-process-live-event-log.js';
import { FakeDialer } from '../../../testing/fake-dialer.js';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';

const log = new InProcessLiveEventLog({ logger: pino({ level: 'silent' }) });
const dialer = new FakeDialer();
let h: Harness;
let baseUrl: string;
let acme: SignedInUser;
let globex: SignedInUser;
let acmeCall: string;
let acmeOtherCall: string;
let globexCall: string;
let acmeKey: string;

beforeAll(async () => {
  h = await createHarness({ liveEvents: log, dialer });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  acme = await h.signup('acme');
  globex = await h.signup('globex');
  acmeCall = await insertCall(acme.organizationId, { status: 'in_progress', runtimeId: 'runtime-a' });
  acmeOtherCall = await insertCall(acme.organizationId, { status: 'ringing', runtimeId: null });
  globexCall = await insertCall(globex.organizationId, { status: 'in_progress', runtimeId: 'runtime-b' });
  const created = await acme.client.post('/api/v1/api-keys', { name: 'wallboard', scopes: ['calls:read'] });
  acmeKey = created.body.secret;
}, 60_000);
afterAll(async () => {
  await h.close();
  await log.close();
});

async function insertCall(
  organizationId: string,
  fields: { status: string; runtimeId: string | null; answeredAt?: Date | null },
): Promise<string> {
  const [row] = await h.database.db
    .insert(calls)
    .values({
      organizationId,
      direction: 'inbound',
      transport: 'twilio',
      fromNumber: '+15557654321',
      toNumber: '+15550001111',
      status: fields.status,
      runtimeId: fields.runtimeId,
      answeredAt: fields.answeredAt ?? (fields.status === 'in_progress' ? new Date() : null),
      ...(fields.status === 'completed' ? { endedAt: new Date(), endReason: 'caller_hangup' } : {}),
    })
    .returning({ id: calls.id });
  return row!.id;
}

const event = (
  callId: string,
  type: LiveEventInput['type'],
  data: Record<string, unknown>,
): LiveEventInput => ({
  type,
  callId,
  agentId: null,
  occurredAt: new Date().toISOString(),
  data,
});

interface Received {
  id: string | null;
  event: string;
  data: any;
}

/** An SSE connection to the listening server with an API key; what it received, parsed. */
function stream(path: string, headers: Record<string, string> = {}) {
  const received: Received[] = [];
  const state = { status: 0, contentType: '' };
  const request = http.get(`${baseUrl}${path}`, {
    headers: { authorization: `Bearer ${acmeKey}`, accept: 'text/event-stream', ...headers },
  });
  request.on('error', () => {});
  request.on('response', (response) => {
    state.status = response.statusCode ?? 0;
    state.contentType = String(response.headers['content-type']);
    response.setEncoding('utf8');
    let buffer = '';
    response.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
        const data = field('data');
        if (data !== undefined)
          received.push({ id: field('id') ?? null, event: field('event') ?? '', data: JSON.parse(data) });
      }
    });
  });
  return {
    received,
    state,
    opened: () => vi.waitFor(() => expect(state.status).toBe(200), { timeout: 5_000, interval: 5 }),
    count: (n: number) => vi.waitFor(() => expect(received).toHaveLength(n), { timeout: 5_000, interval: 5 }),
    close: () => request.destroy(),
  };
}

describe('GET /api/v1/events', () => {
  it('streams the organization’s events and never another organization’s', async () => {
    const watching = stream('/api/v1/events');
    await watching.opened();
    expect(watching.state.contentType).toMatch(/^text\/event-stream/);
    log.append(globex.organizationId, event(globexCall, 'transcript.final', { text: 'not yours' }));
    log.append(acme.organizationId, event(acmeCall, 'call.status', { status: 'in_progress' }));
    log.append(acme.organizationId, event(acmeCall, 'transcript.final', { text: 'hello' }));
    await watching.count(2);
    expect(watching.received.map((r) => [r.event, r.data.callId])).toEqual([
      ['call.status', acmeCall],
      ['transcript.final', acmeCall],
    ]);
    expect(watching.received.every((r) => r.id === r.data.id)).toBe(true);
    watching.close();
  });

  it('filters by call and by type, and resumes after Last-Event-ID (or ?lastEventId=)', async () => {
    const filtered = stream(`/api/v1/events?callId=${acmeCall}&types=transcript.partial,transcript.final`);
    const everything = stream('/api/v1/events');
    await filtered.opened();
    await everything.opened();
    log.append(acme.organizationId, event(acmeOtherCall, 'transcript.final', { text: 'other call' }));
    log.append(acme.organizationId, event(acmeCall, 'speech.started', {}));
    log.append(acme.organizationId, event(acmeCall, 'transcript.partial', { text: 'ha' }));
    log.append(acme.organizationId, event(acmeCall, 'transcript.final', { text: 'happy' }));
    await everything.count(4);
    await filtered.count(2);
    expect(filtered.received.map((r) => r.data.data.text)).toEqual(['ha', 'happy']);

    const afterFirst = everything.received[0]!.id!;
    const byHeader = stream('/api/v1/events', { 'last-event-id': afterFirst });
    const byQuery = stream(`/api/v1/events?lastEventId=${afterFirst}`);
    await byHeader.count(3);
    await byQuery.count(3);
    expect(byHeader.received.map((r) => r.id)).toEqual(everything.received.slice(1).map((r) => r.id));
    expect(byQuery.received.map((r) => r.id)).toEqual(everything.received.slice(1).map((r) => r.id));
    for (const s of [filtered, everything, byHeader, byQuery]) s.close();
  });

  it('no longer replays an erased call’s events to a client resuming from before the erasure', async () => {
    const ended = await insertCall(acme.organizationId, { status: 'completed', runtimeId: 'runtime-a' });
    const watching = stream('/api/v1/events');
    await watching.opened();
    log.append(acme.organizationId, event(acmeOtherCall, 'call.status', { status: 'ringing' }));
    log.append(acme.organizationId, event(ended, 'transcript.final', { text: 'my card is 4111' }));
    log.append(acme.organizationId, event(acmeOtherCall, 'transcript.final', { text: 'kept' }));
    await watching.count(3);
    watching.close();

    expect((await acme.client.delete(`/api/v1/calls/${ended}`)).status).toBe(204);
    const resumed = stream('/api/v1/events', { 'last-event-id': watching.received[0]!.id! });
    await resumed.count(1);
    expect(resumed.received.map((r) => r.data.data.text)).toEqual(['kept']);
    resumed.close();
  });

  it('says with a reset event when the id to resume after is no longer kept', async () => {
    const resumed = stream('/api/v1/events', { 'last-event-id': `${Date.now() - 3_600_000}-0` });
    await resumed.count(1);
    expect(resumed.received[0]).toMatchObject({ event: 'reset', data: { reason: 'events_missed' } });
    resumed.close();
  });

  it('carries the same events over a WebSocket, resumable with ?lastEventId=', async () => {
    const sse = stream('/api/v1/events');
    await sse.opened();
    log.append(acme.organizationId, event(acmeCall, 'user.turn', { text: 'first' }));
    log.append(acme.organizationId, event(acmeCall, 'user.turn', { text: 'second' }));
    await sse.count(2);
    const socket = new WebSocket(
      `${baseUrl.replace('http', 'ws')}/api/v1/events/ws?callId=${acmeCall}&lastEventId=${sse.received[0]!.id}`,
      { headers: { authorization: `Bearer ${acmeKey}` } },
    );
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await vi.waitFor(() => expect(messages).toHaveLength(1), { timeout: 5_000, interval: 5 });
    log.append(acme.organizationId, event(acmeCall, 'user.turn', { text: 'third' }));
    await vi.waitFor(() => expect(messages).toHaveLength(2), { timeout: 5_000, interval: 5 });
    expect(messages.map((m) => m.data.text)).toEqual(['second', 'third']);
    socket.close();
    sse.close();
  });

  it('answers 401 without credentials, 403 without calls:read, 404 for another organization’s call or agent, 400 for a bad id', async () => {
    expect((await h.anonymous.get('/api/v1/events')).status).toBe(401);
    const agentsOnly = await h.apiKey(acme, ['agents:read']);
    const forbidden = await agentsOnly.get('/api/v1/events');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
    const foreign = await acme.client.get(`/api/v1/events?callId=${globexCall}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('call_not_found');
    const missingAgent = await acme.client.get(`/api/v1/events?agentId=${randomUUID()}`);
    expect(missingAgent.status).toBe(404);
    expect(missingAgent.body.error.code).toBe('agent_not_found');
    expect((await acme.client.get('/api/v1/events', { 'last-event-id': 'nonsense' })).status).toBe(400);
    expect((await acme.client.get('/api/v1/events?types=transcript.final,gossip')).status).toBe(400);
    // The WebSocket variant refuses before upgrading.
    const refused = new WebSocket(`${baseUrl.replace('http', 'ws')}/api/v1/events/ws?callId=${globexCall}`, {
      headers: { authorization: `Bearer ${acmeKey}` },
    });
    const status = await new Promise<number>((resolve) => {
      refused.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      refused.on('error', () => {});
    });
    expect(status).toBe(404);
  });

  it('opens the WebSocket with a session cookie only from a page of this instance', async () => {
    const statusOf = (origin: string) => {
      const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/api/v1/events/ws`, {
        headers: { cookie: acme.client.auth.cookie!, origin },
      });
      return new Promise<number>((resolve) => {
        socket.on('open', () => {
          socket.close();
          resolve(101);
        });
        socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.on('error', () => {});
      });
    };
    // Another site's page would otherwise read the organization's live transcripts with the cookie.
    expect(await statusOf('https://evil.example')).toBe(403);
    expect(await statusOf(new URL(h.deps.publicUrl).origin)).toBe(101);
  });
});

describe('the status of calls placed through the API', () => {
  it('is streamed when a call is placed (queued), when it is canceled and when it fails to dial', async () => {
    const owner = acme.client;
    const credential = await owner.post('/api/v1/credentials', {
      name: 'Twilio account',
      provider: 'twilio',
      values: {
        accountSid: 'AC0123456789abcdef0123456789abcdef',
        authToken: '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e',
      },
    });
    const agent = await owner.post('/api/v1/agents', { name: 'Reminders', firstMessage: 'Hello!' });
    await owner.post(`/api/v1/agents/${agent.body.id}/publish`);
    const from = '+14155550777';
    await owner.post('/api/v1/phone-numbers', {
      carrier: 'twilio',
      number: from,
      credentialId: credential.body.id,
    });

    const watching = stream('/api/v1/events?types=call.status');
    await watching.opened();
    const placed = await owner.post('/api/v1/calls', { agentId: agent.body.id, from, to: '+14155550123' });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect((await owner.post(`/api/v1/calls/${placed.body.id}/cancel`)).status).toBe(200);
    await watching.count(2);
    expect(watching.received.map((r) => [r.data.callId, r.data.agentId, r.data.data])).toEqual([
      [placed.body.id, agent.body.id, { status: 'queued', previousStatus: null, endReason: null }],
      [
        placed.body.id,
        agent.body.id,
        { status: 'canceled', previousStatus: null, endReason: 'canceled_by_api' },
      ],
    ]);

    // A carrier that refuses to place the call: the call is recorded and closed as failed at once.
    dialer.dialError = 'the carrier refused the number';
    const refused = await owner.post('/api/v1/calls', { agentId: agent.body.id, from, to: '+14155550124' });
    dialer.dialError = null;
    expect(refused.status).toBe(502);
    const failedCallId = refused.body.error.details.callId;
    await watching.count(3);
    expect(watching.received[2]!.data).toMatchObject({
      callId: failedCallId,
      agentId: agent.body.id,
      data: { status: 'failed', endReason: 'dial_failed' },
    });
    watching.close();
  });
});

describe('GET /api/v1/calls/active', () => {
  it('lists the organization’s calls not over yet, with the runtime carrying each', async () => {
    await insertCall(acme.organizationId, { status: 'completed', runtimeId: 'runtime-a' });
    const response = await acme.client.get('/api/v1/calls/active');
    expect(response.status).toBe(200);
    const byId = new Map(response.body.data.map((call: any) => [call.id, call]));
    expect([...byId.keys()].sort()).toEqual([acmeCall, acmeOtherCall].sort());
    expect(byId.get(acmeCall)).toMatchObject({
      status: 'in_progress',
      runtimeId: 'runtime-a',
      answeredAt: expect.any(String),
    });
    expect(byId.get(acmeOtherCall)).toMatchObject({ status: 'ringing', runtimeId: null, answeredAt: null });

    const globexView = await globex.client.get('/api/v1/calls/active');
    expect(globexView.body.data.map((call: any) => call.id)).toEqual([globexCall]);
    expect((await h.anonymous.get('/api/v1/calls/active')).status).toBe(401);
    const agentsOnly = await h.apiKey(acme, ['agents:read']);
    expect((await agentsOnly.get('/api/v1/calls/active')).status).toBe(403);
  });
});
