// GET /api/v1/calls/:id/listen: who may open a listening socket on which call, decided before the
// upgrade (the audio itself is in test/call-listen.e2e.test.ts and src/live/*listen* tests).
import { and, auditLog, calls, eq } from '@parley/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { createHarness, type Client, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { FakeDialer } from '../../../testing/fake-dialer.js';

let h: Harness;
let ownerA: SignedInUser;
let ownerB: SignedInUser;

async function placedCall(owner: SignedInUser): Promise<string> {
  const agent = (await owner.client.post('/api/v1/agents', { name: 'Listen agent' })).body.id as string;
  await owner.client.post(`/api/v1/agents/${agent}/publish`);
  const credentialId = (
    await owner.client.post('/api/v1/credentials', {
      name: 'Twilio',
      provider: 'twilio',
      values: {
        accountSid: 'AC0123456789abcdef0123456789abcdef',
        authToken: '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e',
      },
    })
  ).body.id as string;
  const from = `+1415666${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
  await owner.client.post('/api/v1/phone-numbers', { carrier: 'twilio', number: from, credentialId });
  const response = await owner.client.post('/api/v1/calls', { agentId: agent, to: '+14155550123', from });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.id as string;
}

/** The call as a runtime leaves it once its media connected. */
async function makeLive(callId: string): Promise<void> {
  await h.database.db
    .update(calls)
    .set({ status: 'in_progress', runtimeId: 'runtime-elsewhere', answeredAt: new Date() })
    .where(eq(calls.id, callId));
}

function headersOf(client: Client, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { ...extra };
  if (client.auth.cookie) headers.cookie = client.auth.cookie;
  if (client.auth.apiKey) headers.authorization = `Bearer ${client.auth.apiKey}`;
  return headers;
}

/** Opens the listening socket; answers the HTTP status that refused it, or the open socket. */
async function upgrade(client: Client, callId: string, extra: Record<string, string> = {}) {
  try {
    const socket: WebSocket = await h.app.injectWS(`/api/v1/calls/${callId}/listen`, {
      headers: headersOf(client, extra),
    });
    return { status: 101, socket };
  } catch (error) {
    const status = /Unexpected server response: (\d+)/.exec(String(error))?.[1];
    if (!status) throw error;
    return { status: Number(status), socket: null };
  }
}

async function listenAudits(callId: string) {
  return h.database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.targetId, callId), eq(auditLog.action, 'call.listen')));
}

beforeAll(async () => {
  h = await createHarness({ dialer: new FakeDialer() });
  ownerA = await h.signup('listen-a');
  ownerB = await h.signup('listen-b');
}, 60_000);
afterAll(async () => {
  await h.close();
});

describe('GET /calls/:id/listen', () => {
  it('refuses before upgrading: 401 anonymous, 403 without calls:read, 404 another organization’s call', async () => {
    const callId = await placedCall(ownerA);
    await makeLive(callId);
    expect((await upgrade(h.anonymous, callId)).status).toBe(401);
    expect((await upgrade(await h.apiKey(ownerA, ['agents:read']), callId)).status).toBe(403);
    expect((await upgrade(ownerB.client, callId)).status).toBe(404);
    expect((await upgrade(await h.apiKey(ownerB, ['calls:read']), callId)).status).toBe(404);
    expect(await listenAudits(callId)).toEqual([]);
  });

  it('refuses a call that is not in progress with 409 call_not_live', async () => {
    const callId = await placedCall(ownerA);
    expect((await upgrade(ownerA.client, callId)).status).toBe(409);
    const plain = await ownerA.client.get(`/api/v1/calls/${callId}/listen`);
    expect([plain.status, plain.body.error.code, plain.body.error.details]).toEqual([
      409,
      'call_not_live',
      { status: 'queued' },
    ]);
  });

  it('upgrades an allowed listener on a live call and audits who listened', async () => {
    const callId = await placedCall(ownerA);
    await makeLive(callId);
    const key = await h.apiKey(ownerA, ['calls:read']);
    const { status, socket } = await upgrade(key, callId);
    expect(status).toBe(101);
    socket!.terminate();
    const audits = await listenAudits(callId);
    expect(audits.map((row) => [row.action, row.actorType, row.targetType])).toEqual([
      ['call.listen', 'api_key', 'call'],
    ]);
  });

  it('a plain GET on a live call answers 426 websocket_required, and audits nothing', async () => {
    const callId = await placedCall(ownerA);
    await makeLive(callId);
    const plain = await ownerA.client.get(`/api/v1/calls/${callId}/listen`);
    expect([plain.status, plain.body.error.code]).toEqual([426, 'websocket_required']);
    expect(await listenAudits(callId)).toEqual([]);
  });

  it('refuses a session cookie sent from another site’s page', async () => {
    const callId = await placedCall(ownerA);
    await makeLive(callId);
    expect((await upgrade(ownerA.client, callId, { origin: 'https://evil.example' })).status).toBe(403);
    const same = await upgrade(ownerA.client, callId, { origin: new URL(h.deps.publicUrl).origin });
    expect(same.status).toBe(101);
    same.socket!.terminate();
  });
});
