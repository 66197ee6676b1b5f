// A phone call into a running Parley through the Twilio simulator: the signed voice webhook, the
// <Connect><Stream> answer, the signed media socket, a conversation through the provider simulators,
// and a call record written as it happened (events, transcript, recording).
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, eq, transcriptTurns } from '@parley/db';
import { createAgent, createOutboundCall, createPhoneNumber, publishAgent } from '@parley/services';
import {
  loadFixture,
  placeTwilioInboundCall,
  signTwilioRequest,
  startTwilioCaller,
  startTwilioRestSimulator,
  type TwilioCaller,
  type TwilioRestSimulator,
} from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import {
  expectRecordedConversation,
  REPLY,
  startInboundCallWorld,
  type InboundCallWorld,
} from './inbound-call-world.js';
import { connectTwilioStream, twilioStreamOf } from './twilio-outbound-call.js';

const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';
const NUMBER = '+15550001111';
const CALLER = '+15557654321';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;

let world: InboundCallWorld;
let rest: TwilioRestSimulator;
let twilioCredential: string;

beforeAll(async () => {
  rest = await startTwilioRestSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env), {
    carrierApiUrls: { twilio: rest.baseUrl },
  });
  twilioCredential = await world.credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  await createPhoneNumber(world.org, {
    carrier: 'twilio',
    number: NUMBER,
    credentialId: twilioCredential,
    inboundAgentId: world.agentId,
  });
});

afterAll(async () => {
  await world?.close();
  await rest?.close();
});

const voiceUrl = () => `${world.deps.publicUrl}/webhooks/twilio/inbound`;
const rowOf = (id: string) => world.callRow(id);

/** Resolves once the agent has spoken after `afterMs` and then been quiet for `quietMs`. */
async function agentTurn(caller: TwilioCaller, afterMs: number, quietMs = 500): Promise<number> {
  const started = await caller.waitFor(() => caller.firstNonSilentOutboundAfter(afterMs), 15_000);
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= quietMs ? last : null;
  }, 15_000);
  return started;
}

describe('an outbound Twilio call', () => {
  // The agent ending an outbound call itself (end_call, the stream closed after its goodbye) is in
  // call-actions.e2e.test.ts, with the other in-call actions on Twilio.
  it('is placed through the REST API, rings, is answered, converses, and is completed', async () => {
    const placed = await createOutboundCall(world.org, { agentId: world.agentId, to: CALLER, from: NUMBER });
    expect(placed).toMatchObject({ status: 'queued', direction: 'outbound', transport: 'twilio' });
    const sid = placed.carrierCallId!;
    const created = rest.call(sid).createForm;
    expect(created.get('To')).toBe(CALLER);
    expect(created.get('From')).toBe(NUMBER);
    expect(created.get('Url')).toBe(`${world.deps.publicUrl}/webhooks/twilio/answer/${placed.id}`);

    await rest.sendStatus(sid, 'ringing');
    expect((await rowOf(placed.id)).status).toBe('ringing');
    const { twiml } = await rest.answer(sid);
    await rest.sendStatus(sid, 'in-progress');
    const caller = await connectTwilioStream(twilioStreamOf(twiml), sid, AUTH_TOKEN);
    await agentTurn(caller, 0);
    world.sims.stt.queueUtterance(loadFixture('opening-hours').transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    await caller.hangUp();
    await rest.sendStatus(sid, 'completed');
    await vi.waitFor(async () => expect((await rowOf(placed.id)).status).toBe('completed'), {
      timeout: 10_000,
      interval: 50,
    });
    const turns = await world.database.db
      .select()
      .from(transcriptTurns)
      .where(eq(transcriptTurns.callId, placed.id))
      .orderBy(asc(transcriptTurns.seq));
    expect(turns.map((t) => t.role)).toEqual(['agent', 'user', 'agent']);
    expect(await rowOf(placed.id)).toMatchObject({
      answeredAt: expect.any(Date),
      carrierReason: expect.stringMatching(/completed/),
    });
  });

  for (const [status, expected] of [
    ['busy', 'busy'],
    ['no-answer', 'no_answer'],
    ['failed', 'failed'],
  ] as const) {
    it(`ends as ${expected} when the carrier reports ${status}, keeping its reason`, async () => {
      const placed = await createOutboundCall(world.org, {
        agentId: world.agentId,
        to: CALLER,
        from: NUMBER,
      });
      await rest.sendStatus(placed.carrierCallId!, 'ringing');
      await rest.sendStatus(placed.carrierCallId!, status);
      expect(await rowOf(placed.id)).toMatchObject({
        status: expected,
        endReason: `carrier_${expected}`,
        carrierReason: expect.stringContaining(status),
        endedAt: expect.any(Date),
      });
    });
  }
});

describe('an inbound Twilio call', () => {
  it('is answered by the agent, converses, and is recorded as it happened', async () => {
    const placed = await placeTwilioInboundCall({
      voiceUrl: voiceUrl(),
      authToken: AUTH_TOKEN,
      from: CALLER,
      to: NUMBER,
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream, got: ${placed.twiml}`);
    const { caller } = placed;
    const callId = placed.parameters['callId']!;

    await agentTurn(caller, 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    await caller.hangUp();

    // Completed by the hang-up, with the transcript, the events in order and a recording as long as
    // the call; on this call's own fields as the carrier gave them.
    const row = await expectRecordedConversation(world, callId, fixture.transcript!);
    expect(row).toMatchObject({
      transport: 'twilio',
      carrierCallId: placed.callSid,
      fromNumber: CALLER,
      toNumber: NUMBER,
    });
  });

  it('refuses a voice webhook with a forged or missing signature', async () => {
    const forged = await placeTwilioInboundCall({
      voiceUrl: voiceUrl(),
      authToken: 'not-the-auth-token',
      from: CALLER,
      to: NUMBER,
    }).catch((error: unknown) => error);
    expect(String(forged)).toMatch(/403/);
    const missing = await fetch(voiceUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ CallSid: 'CA123', From: CALLER, To: NUMBER }).toString(),
    });
    expect(missing.status).toBe(403);
  });

  it('ends a call whose agent cannot be set up as failed, with the reason, and hangs up', async () => {
    // No credential for the recogniser: the call cannot start, and must not be left in progress.
    const unconfigured = await createAgent(world.org, { name: 'Unconfigured', firstMessage: 'Hi.' });
    await publishAgent(world.org, unconfigured.id);
    const number = '+15550003333';
    await createPhoneNumber(world.org, {
      carrier: 'twilio',
      number,
      credentialId: twilioCredential,
      inboundAgentId: unconfigured.id,
    });
    const placed = await placeTwilioInboundCall({
      voiceUrl: voiceUrl(),
      authToken: AUTH_TOKEN,
      from: CALLER,
      to: number,
    });
    if (placed.kind !== 'stream') throw new Error('expected a stream');
    await placed.caller.waitFor(() => placed.caller.closedBy === 'server', 10_000);
    await vi.waitFor(
      async () =>
        expect(await rowOf(placed.parameters['callId']!)).toMatchObject({
          status: 'failed',
          endReason: 'setup_failed',
        }),
      { timeout: 10_000, interval: 50 },
    );
    expect(placed.caller.agentFramesReceived).toBe(0);
  });

  it('speaks a polite rejection for a number no organization has', async () => {
    const placed = await placeTwilioInboundCall({
      voiceUrl: voiceUrl(),
      authToken: AUTH_TOKEN,
      from: CALLER,
      to: '+15550009999',
    });
    expect(placed.kind).toBe('hangup');
    if (placed.kind === 'hangup') expect(placed.spoken.join(' ')).toMatch(/sorry/i);
  });

  it('refuses a media socket with a forged signature, or with another call’s token', async () => {
    const first = await answerWithoutConnecting('CA-first');
    const second = await answerWithoutConnecting('CA-second');
    const forgedUpgrade = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(second.streamUrl, { headers: { 'x-twilio-signature': 'forged' } });
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.once('open', () => reject(new Error('the forged upgrade was accepted')));
      socket.once('error', () => {});
    });
    expect(forgedUpgrade).toBe(403);

    // The second call's socket, properly signed, presenting the first call's token: closed at once.
    const intruder = await startTwilioCaller({
      url: second.streamUrl,
      customParameters: { callId: second.callId, token: first.token },
      headers: { 'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, second.streamUrl) },
    });
    await intruder.waitFor(() => intruder.closedBy === 'server', 5000);
    expect(intruder.agentFramesReceived).toBe(0);
    expect((await rowOf(second.callId)).status).toBe('ringing');
  });
});

/** The voice webhook of a new call, signed as Twilio signs it; the socket is not opened. */
async function answerWithoutConnecting(callSid: string) {
  const fields = new URLSearchParams({ CallSid: callSid, From: CALLER, To: NUMBER, Direction: 'inbound' });
  const response = await fetch(voiceUrl(), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, voiceUrl(), fields),
    },
    body: fields.toString(),
  });
  const stream = twilioStreamOf(await response.text());
  return {
    streamUrl: stream.url,
    callId: stream.parameters['callId'] ?? '',
    token: stream.parameters['token'] ?? '',
  };
}
