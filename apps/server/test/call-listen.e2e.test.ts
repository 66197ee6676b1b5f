// Supervisor listen end to end: a phone call through the Twilio simulator, and a supervisor's
// WebSocket on GET /api/v1/calls/:id/listen hearing it live — the caller on the left, the agent on the
// right, each when they spoke — until the caller hangs up.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiKey, createPhoneNumber, listAuditLog } from '@parley/services';
import { loadFixture, placeTwilioInboundCall } from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { REPLY, startInboundCallWorld, type InboundCallWorld } from './inbound-call-world.js';

const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';
const NUMBER = '+15550002222';
const CALLER = '+15557654321';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;

let world: InboundCallWorld;
let supervisorKey: string;
/** The first test's call, over once it has run. */
let endedCallId: string | null = null;

beforeAll(async () => {
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env));
  const twilioCredential = await world.credential('twilio', {
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
  });
  await createPhoneNumber(world.org, {
    carrier: 'twilio',
    number: NUMBER,
    credentialId: twilioCredential,
    inboundAgentId: world.agentId,
  });
  supervisorKey = (await createApiKey(world.org, { name: 'supervisor', scopes: ['calls:read'] })).secret;
});

afterAll(async () => {
  await world?.close();
});

interface Heard {
  texts: Record<string, unknown>[];
  chunks: Int16Array[];
  closed: { code: number; reason: string } | null;
}

/** A supervisor's WebSocket on the call: everything it receives, in order. */
function listen(callId: string): { socket: WebSocket; heard: Heard; opened: Promise<void> } {
  const url = `${world.deps.publicUrl.replace(/^http/, 'ws')}/api/v1/calls/${callId}/listen`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${supervisorKey}` } });
  const heard: Heard = { texts: [], chunks: [], closed: null };
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      heard.texts.push(JSON.parse(data.toString()) as Record<string, unknown>);
      return;
    }
    const copy = Buffer.from(data);
    heard.chunks.push(new Int16Array(copy.buffer, copy.byteOffset, copy.byteLength / 2));
  });
  socket.on('close', (code, reason) => (heard.closed = { code, reason: reason.toString() }));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, heard, opened };
}

/** Mean absolute amplitude of one channel (0 caller, 1 agent) of a stereo chunk. */
function level(chunk: Int16Array, channel: 0 | 1): number {
  let sum = 0;
  for (let i = channel; i < chunk.length; i += 2) sum += Math.abs(chunk[i]!);
  return sum / (chunk.length / 2);
}

const LOUD = 300;

describe('supervisor listen', () => {
  it('streams both legs of a live call, aligned, then says how it ended', async () => {
    const placed = await placeTwilioInboundCall({
      voiceUrl: `${world.deps.publicUrl}/webhooks/twilio/inbound`,
      authToken: AUTH_TOKEN,
      from: CALLER,
      to: NUMBER,
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream, got: ${placed.twiml}`);
    const { caller } = placed;
    const callId = placed.parameters['callId']!;
    endedCallId = callId;
    // The call is listenable once a runtime has claimed its media.
    await vi.waitFor(async () => expect((await world.callRow(callId)).status).toBe('in_progress'), {
      timeout: 10_000,
      interval: 20,
    });

    const { heard, opened } = listen(callId);
    await opened;
    await vi.waitFor(() => expect(heard.texts[0]).toBeDefined(), { timeout: 5_000, interval: 20 });
    expect(heard.texts[0]).toEqual({
      type: 'start',
      callId,
      sampleRateHz: 8000,
      encoding: 'pcm16le',
      channels: 2,
      channelLayout: ['caller', 'agent'],
      chunkMs: 100,
    });

    // The greeting plays: the supervisor hears the agent, and a silent caller.
    await vi.waitFor(() => expect(heard.chunks.some((c) => level(c, 1) > LOUD)).toBe(true), {
      timeout: 10_000,
      interval: 20,
    });
    await caller.waitFor(() => {
      const last = caller.lastNonSilentOutboundAt();
      return last !== null && performance.now() - last >= 500 ? last : null;
    }, 15_000);
    const greetingChunks = heard.chunks.length;

    // The caller speaks; the agent answers.
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await caller.waitFor(() => caller.firstNonSilentOutboundAfter(endedAtMs), 15_000);
    await caller.waitFor(() => {
      const last = caller.lastNonSilentOutboundAt();
      return last !== null && performance.now() - last >= 500 ? last : null;
    }, 15_000);
    await caller.hangUp();

    await vi.waitFor(() => expect(heard.closed).not.toBeNull(), { timeout: 10_000, interval: 20 });
    expect(heard.texts.at(-1)).toEqual({ type: 'end', reason: 'caller_hangup' });
    expect(heard.closed!.code).toBe(1000);

    // Every chunk is 100 ms of stereo at 8 kHz (the last may be shorter).
    expect(heard.chunks.slice(0, -1).every((c) => c.length === 1600)).toBe(true);
    const during = (from: number, to: number) => heard.chunks.slice(from, to);
    // While the agent greeted, the caller's channel was silent.
    const greeting = during(0, greetingChunks);
    expect(greeting.filter((c) => level(c, 1) > LOUD).length).toBeGreaterThanOrEqual(5);
    expect(greeting.every((c) => level(c, 0) < LOUD)).toBe(true);
    // Then the caller spoke (left) while the agent listened (right), then the agent answered.
    const after = during(greetingChunks, heard.chunks.length);
    const callerSpoke = after.map((c, i) => (level(c, 0) > LOUD ? i : -1)).filter((i) => i >= 0);
    expect(callerSpoke.length).toBeGreaterThanOrEqual(5);
    expect(callerSpoke.every((i) => level(after[i]!, 1) < LOUD)).toBe(true);
    const agentAnswered = after.map((c, i) => (level(c, 1) > LOUD ? i : -1)).filter((i) => i >= 0);
    expect(agentAnswered.length).toBeGreaterThanOrEqual(5);
    expect(Math.min(...agentAnswered)).toBeGreaterThan(Math.max(...callerSpoke));
    // The supervisor heard as much audio as the call lasted after they joined (the line paces it).
    const heardMs = heard.chunks.reduce((ms, c) => ms + c.length / 2 / 8, 0);
    const row = await world.callRow(callId);
    const callMs = row.endedAt!.getTime() - row.answeredAt!.getTime();
    expect(heardMs).toBeLessThanOrEqual(callMs + 500);
    expect(heardMs).toBeGreaterThan(callMs - 3_000);

    // The listening session is on the audit log: who listened to which call.
    const audit = await listAuditLog(world.org, { limit: 10, action: 'call.listen' });
    expect(audit.data.map((entry) => [entry.actor.label, entry.target.id])).toEqual([['supervisor', callId]]);
  });

  it('refuses a call that is over before upgrading (409), and a call of nobody (404)', async () => {
    expect(endedCallId).not.toBeNull();
    for (const [id, status] of [
      [endedCallId!, 409],
      ['0190a000-0000-7000-8000-000000000000', 404],
    ] as const) {
      const { opened } = listen(id);
      await expect(opened).rejects.toThrow(new RegExp(`Unexpected server response: ${status}`));
    }
  });
});
