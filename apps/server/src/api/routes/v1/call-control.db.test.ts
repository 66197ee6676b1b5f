// POST /api/v1/calls/:id/control through the HTTP API: who may control a live call, which calls can
// take which commands, what travels to the runtime named on the call's record, and what the audit log
// keeps. The runtime's side is a recording port here; the commands' effect on a real call is in
// apps/server/test/call-control.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls } from '@parley/db';
import type { LiveCallControlCommand } from '@parley/contracts';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { addMember, auditRows } from '../../../testing/teams.js';

const HUMAN = '+14155550177';

/** What reached the bus, by runtime; `failing` makes it refuse like an unreachable broker. */
const sent: { runtimeId: string; command: LiveCallControlCommand }[] = [];
let failing = false;

let h: Harness;
let owner: SignedInUser;
let viewer: SignedInUser;
let member: SignedInUser;
let agentId: string;
let handOffAgentId: string;

async function created(user: SignedInUser, url: string, body: unknown): Promise<string> {
  const response = await user.client.post(url, body);
  if (response.status !== 201) throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id as string;
}

async function publishedAgent(user: SignedInUser, body: Record<string, unknown>): Promise<string> {
  const id = await created(user, '/api/v1/agents', { name: 'Reception', ...body });
  const published = await user.client.post(`/api/v1/agents/${id}/publish`);
  if (published.status >= 300) throw new Error(JSON.stringify(published.body));
  return id;
}

/** A call row as a runtime leaves it: `in_progress` and claimed by `runtimeId` unless told otherwise. */
async function callOf(
  organizationId: string,
  options: { status?: string; runtimeId?: string | null; transport?: string; agentId?: string } = {},
): Promise<string> {
  const [row] = await h.database.db
    .insert(calls)
    .values({
      organizationId,
      agentId: options.agentId ?? agentId,
      agentVersion: 1,
      direction: 'inbound',
      transport: options.transport ?? 'twilio',
      carrierCallId: `CA${crypto.randomUUID().replaceAll('-', '')}`,
      status: options.status ?? 'in_progress',
      runtimeId: options.runtimeId === undefined ? 'runtime-b' : options.runtimeId,
    })
    .returning({ id: calls.id });
  return row!.id;
}

const control = (user: SignedInUser, callId: string, body: unknown) =>
  user.client.post(`/api/v1/calls/${callId}/control`, body);

beforeAll(async () => {
  h = await createHarness();
  h.deps.callCommands = {
    send: async (runtimeId, command) => {
      if (failing) throw new Error('redis is down');
      sent.push({ runtimeId, command });
    },
  };
  owner = await h.signup('owner');
  viewer = await addMember(h, owner, 'viewer');
  member = await addMember(h, owner, 'member');
  agentId = await publishedAgent(owner, {});
  const toolId = await created(owner, '/api/v1/tools', {
    kind: 'builtin',
    name: 'Front desk',
    functionName: 'hand_off_to_front_desk',
    description: 'Put the caller through to the front desk.',
    builtin: { type: 'hand_off', number: HUMAN, message: 'Putting you through to the front desk.' },
  });
  handOffAgentId = await publishedAgent(owner, { tools: [{ toolId }] });
}, 60_000);

afterAll(() => h.close());

describe('who may control a call', () => {
  it('a viewer may not; a member may, and the command goes to the runtime carrying the call', async () => {
    const callId = await callOf(owner.organizationId);
    const denied = await control(viewer, callId, { type: 'mute' });
    expect([denied.status, denied.body.error.code]).toEqual([403, 'forbidden']);
    expect(sent.filter((s) => s.command.callId === callId)).toEqual([]);

    const accepted = await control(member, callId, { type: 'say', text: 'One moment please.' });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      callId,
      command: { type: 'say', text: 'One moment please.', interrupt: true, hangUpAfter: false },
    });
    expect(sent.filter((s) => s.command.callId === callId)).toEqual([
      {
        runtimeId: 'runtime-b',
        command: { type: 'say', callId, text: 'One moment please.', interrupt: true, hangUpAfter: false },
      },
    ]);
  });

  it('an API key needs calls:write', async () => {
    const callId = await callOf(owner.organizationId);
    const reader = await h.apiKey(owner, ['calls:read']);
    const writer = await h.apiKey(owner, ['calls:write']);
    const denied = await reader.post(`/api/v1/calls/${callId}/control`, { type: 'hang_up' });
    expect(denied.status).toBe(403);
    const accepted = await writer.post(`/api/v1/calls/${callId}/control`, { type: 'hang_up' });
    expect(accepted.status).toBe(202);
  });

  it('another organization’s call is not found', async () => {
    const other = await h.signup('other');
    const callId = await callOf(other.organizationId);
    const response = await control(owner, callId, { type: 'hang_up' });
    expect([response.status, response.body.error.code]).toEqual([404, 'call_not_found']);
    expect(sent.filter((s) => s.command.callId === callId)).toEqual([]);
  });
});

describe('which calls can take a command', () => {
  it('a ringing call, a call no runtime has claimed and an ended call are not live', async () => {
    for (const options of [
      { status: 'ringing', runtimeId: null },
      { status: 'in_progress', runtimeId: null },
      { status: 'completed' },
    ]) {
      const callId = await callOf(owner.organizationId, options);
      const response = await control(owner, callId, { type: 'say', text: 'Hello?' });
      expect([response.status, response.body.error.code]).toEqual([409, 'call_not_live']);
      expect(response.body.error.details).toEqual({ status: options.status });
    }
  });

  it('a transfer needs a carrier that can move a live call', async () => {
    const exotel = await callOf(owner.organizationId, { transport: 'exotel' });
    const refused = await control(owner, exotel, { type: 'transfer', to: HUMAN });
    expect([refused.status, refused.body.error.code]).toEqual([422, 'call_cannot_transfer']);
    const twilio = await callOf(owner.organizationId);
    const accepted = await control(owner, twilio, { type: 'transfer', to: HUMAN, message: 'Hold on.' });
    expect(accepted.status).toBe(202);
    expect(sent.find((s) => s.command.callId === twilio)?.command).toEqual({
      type: 'transfer',
      callId: twilio,
      to: HUMAN,
      message: 'Hold on.',
      handOff: false,
    });
  });

  it('a hand-off goes to the agent’s hand_off tool, and is refused when the agent has none', async () => {
    const without = await callOf(owner.organizationId);
    const refused = await control(owner, without, { type: 'hand_off' });
    expect([refused.status, refused.body.error.code]).toEqual([422, 'hand_off_not_configured']);

    const withTool = await callOf(owner.organizationId, { agentId: handOffAgentId });
    const accepted = await control(owner, withTool, { type: 'hand_off' });
    expect(accepted.status).toBe(202);
    expect(sent.find((s) => s.command.callId === withTool)?.command).toEqual({
      type: 'transfer',
      callId: withTool,
      to: HUMAN,
      message: 'Putting you through to the front desk.',
      handOff: true,
    });
  });

  it('checks the command: an empty text, an unknown type, a number not in E.164', async () => {
    const callId = await callOf(owner.organizationId);
    for (const body of [
      { type: 'say', text: '   ' },
      { type: 'say', text: 'x'.repeat(2001) },
      { type: 'shout', text: 'hi' },
      { type: 'transfer', to: '0207 946 0000' },
      { type: 'inject', role: 'assistant', content: 'hi' },
    ]) {
      const response = await control(owner, callId, body);
      expect([response.status, response.body.error.code], JSON.stringify(body)).toEqual([
        400,
        'invalid_request',
      ]);
    }
    expect(sent.filter((s) => s.command.callId === callId)).toEqual([]);
  });

  it('answers 503 when the bus cannot take the command, and audits nothing', async () => {
    const callId = await callOf(owner.organizationId);
    failing = true;
    try {
      const response = await control(owner, callId, { type: 'mute' });
      expect([response.status, response.body.error.code]).toEqual([503, 'call_control_unavailable']);
    } finally {
      failing = false;
    }
    const audited = await auditRows(h.database, owner.organizationId, 'call.control.mute');
    expect(audited.filter((row) => row.targetId === callId)).toEqual([]);
  });
});

describe('the audit log', () => {
  it('says who sent which command and how long its text was, never the text', async () => {
    const callId = await callOf(owner.organizationId);
    const secret = 'The customer’s account number is 12345678.';
    const response = await control(member, callId, { type: 'inject', role: 'system', content: secret });
    expect(response.status).toBe(202);
    const [row] = (await auditRows(h.database, owner.organizationId, 'call.control.inject')).filter(
      (r) => r.targetId === callId,
    );
    expect(row).toMatchObject({
      actorType: 'user',
      actorId: member.userId,
      targetType: 'call',
      details: { role: 'system', chars: secret.length, respond: false },
    });
    expect(JSON.stringify(row)).not.toContain('12345678');
  });
});
