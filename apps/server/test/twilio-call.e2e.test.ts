// A phone call into a running Parley through the Twilio simulator: the signed voice webhook, the
// <Connect><Stream> answer, the signed media socket, a conversation through the provider simulators,
// and a call record written as it happened (events, transcript, recording).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, callEvents, calls, eq, transcriptTurns, type DatabaseHandle } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import {
  createAgent,
  createCredential,
  createOutboundCall,
  createPhoneNumber,
  createUserAsOperator,
  operatorOrgContext,
  publishAgent,
  SecretBox,
  type OrgContext,
  type ServiceContext,
  type ServiceDeps,
} from '@parley/services';
import {
  constant,
  loadFixture,
  placeTwilioInboundCall,
  startCartesiaSimulator,
  startLlmSimulator,
  parseTwiml,
  signTwilioRequest,
  startSttSimulator,
  startTwilioCaller,
  startTwilioRestSimulator,
  type TwilioCaller,
  type TwilioRestSimulator,
} from '@parley/testkit';
import { parseWav } from '@parley/voice';
import { buildApp, type App } from '../src/api/app.js';
import { readiness } from '../src/runtime.js';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { CarrierDialer } from '../src/telephony/carrier-dialer.js';
import { VoiceRuntime } from '../src/telephony/voice-runtime.js';

const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';
const NUMBER = '+15550001111';
const CALLER = '+15557654321';
const GREETING = 'Hello, thanks for calling Acme. How can I help?';
const REPLY = 'We open at nine on Saturdays.';

let database: DatabaseHandle;
let app: App;
let voice: VoiceRuntime;
let deps: ServiceDeps;
let org: OrgContext;
let recordingsDir: string;
let rest: TwilioRestSimulator;
let agentId: string;
let twilioCredential: string;
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
let sims: {
  stt: Awaited<ReturnType<typeof startSttSimulator>>;
  llm: Awaited<ReturnType<typeof startLlmSimulator>>;
  tts: Awaited<ReturnType<typeof startCartesiaSimulator>>;
};

beforeAll(async () => {
  database = await createTestDatabase();
  recordingsDir = await mkdtemp(path.join(tmpdir(), 'parley-recordings-'));
  sims = {
    stt: await startSttSimulator({ apiKey: 'dg-key', finalLatencyMs: 20 }),
    llm: await startLlmSimulator({
      apiKey: 'llm-key',
      firstTokenLatency: constant(30),
      tokensPerSecond: 200,
    }),
    tts: await startCartesiaSimulator({ apiKey: 'tts-key', firstByteLatencyMs: 20 }),
  };
  deps = {
    db: database.db,
    secretBox: new SecretBox('test secret key that is long enough to be accepted'),
    publicUrl: 'http://127.0.0.1',
    signupEnabled: true,
    sessionTtlMs: 3600_000,
  };
  const logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  voice = await VoiceRuntime.start({
    deps,
    runtimeId: 'test-runtime',
    recordingsDir,
    providerUrls: { deepgram: sims.stt.url, openai: sims.llm.url, cartesia: sims.tts.baseUrl },
    logger,
  });
  app = await buildApp({
    deps,
    version: 'test',
    role: 'all',
    bodyLimitBytes: 64 * 1024,
    trustProxy: false,
    loginRateLimitPerMinute: 1000,
    checkReady: () => readiness(database),
    extraRoutes: (scope) => registerTelephony(scope, { deps, runtime: voice, logger }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  deps.publicUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  rest = await startTwilioRestSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  deps.dialer = new CarrierDialer({ deps, carrierApiUrls: { twilio: rest.baseUrl } });
  const system: ServiceContext = { ...deps, actor: { type: 'system', label: 'test' }, clientIp: null };
  const { organizationId } = await createUserAsOperator(system, {
    email: 'owner@acme.test',
    password: 'correct horse battery',
    name: 'Owner',
    organizationName: 'Acme',
    isInstanceAdmin: false,
  });
  org = await operatorOrgContext(system, organizationId);
  const credential = async (provider: string, values: Record<string, string>) =>
    (await createCredential(org, { name: provider, provider: provider as 'openai', values })).id;
  const twilio = await credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  twilioCredential = twilio;
  const agent = await createAgent(org, {
    name: 'Reception',
    systemPrompt: 'You answer questions about opening hours.',
    firstMessage: GREETING,
    stt: { provider: 'deepgram', credentialId: await credential('deepgram', { apiKey: 'dg-key' }) },
    llm: {
      provider: 'openai',
      model: 'gpt-4o-mini',
      credentialId: await credential('openai', { apiKey: 'llm-key' }),
    },
    tts: {
      provider: 'cartesia',
      voice: 'voice-1',
      credentialId: await credential('cartesia', { apiKey: 'tts-key' }),
    },
    turnTaking: { endpointingSilenceMs: 400, minInterruptionSpeechMs: 200 },
  });
  await publishAgent(org, agent.id);
  agentId = agent.id;

  await createPhoneNumber(org, {
    carrier: 'twilio',
    number: NUMBER,
    credentialId: twilio,
    inboundAgentId: agent.id,
  });
});

afterAll(async () => {
  await voice?.close();
  await app?.close();
  await Promise.all([sims?.stt.close(), sims?.llm.close(), sims?.tts.close(), rest?.close()]);
  await database?.close();
  if (recordingsDir) await rm(recordingsDir, { recursive: true, force: true });
});

const voiceUrl = () => `${deps.publicUrl}/webhooks/twilio/inbound`;
const rowOf = async (id: string) => (await database.db.select().from(calls).where(eq(calls.id, id)))[0]!;

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
  it('is placed through the REST API, rings, is answered, converses, and is completed', async () => {
    const placed = await createOutboundCall(org, { agentId, to: CALLER, from: NUMBER });
    expect(placed).toMatchObject({ status: 'queued', direction: 'outbound', transport: 'twilio' });
    const sid = placed.carrierCallId!;
    const created = rest.call(sid).createForm;
    expect(created.get('To')).toBe(CALLER);
    expect(created.get('From')).toBe(NUMBER);
    expect(created.get('Url')).toBe(`${deps.publicUrl}/webhooks/twilio/answer/${placed.id}`);

    await rest.sendStatus(sid, 'ringing');
    expect((await rowOf(placed.id)).status).toBe('ringing');
    const { twiml } = await rest.answer(sid);
    await rest.sendStatus(sid, 'in-progress');
    const stream = parseTwiml(twiml).children.find((e) => e.name === 'Connect')?.children[0];
    const parameter = (name: string) =>
      stream?.children.find((e) => e.attributes['name'] === name)?.attributes['value'] ?? '';
    const streamUrl = stream?.attributes['url'] ?? '';
    const caller = await startTwilioCaller({
      url: streamUrl,
      callSid: sid,
      customParameters: { callId: parameter('callId'), token: parameter('token') },
      headers: { 'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, streamUrl) },
    });
    await agentTurn(caller, 0);
    sims.stt.queueUtterance(loadFixture('opening-hours').transcript!);
    sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    await caller.hangUp();
    await rest.sendStatus(sid, 'completed');
    await vi.waitFor(async () => expect((await rowOf(placed.id)).status).toBe('completed'), {
      timeout: 10_000,
      interval: 50,
    });
    const turns = await database.db
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
      const placed = await createOutboundCall(org, { agentId, to: CALLER, from: NUMBER });
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
    sims.stt.queueUtterance(fixture.transcript!);
    sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    await caller.hangUp();

    await vi.waitFor(
      async () => {
        const [row] = await database.db.select().from(calls).where(eq(calls.id, callId));
        expect(row).toMatchObject({ status: 'completed', endReason: 'caller_hangup' });
      },
      { timeout: 10_000, interval: 50 },
    );
    const [row] = await database.db.select().from(calls).where(eq(calls.id, callId));
    expect(row).toMatchObject({
      organizationId: org.organizationId,
      direction: 'inbound',
      transport: 'twilio',
      carrierCallId: placed.callSid,
      fromNumber: CALLER,
      toNumber: NUMBER,
      runtimeId: 'test-runtime',
      mediaTokenHash: null,
    });

    const turns = await database.db
      .select()
      .from(transcriptTurns)
      .where(eq(transcriptTurns.callId, callId))
      .orderBy(asc(transcriptTurns.seq));
    expect(turns.map((t) => [t.role, t.text])).toEqual([
      ['agent', GREETING],
      ['user', fixture.transcript],
      ['agent', REPLY],
    ]);

    const events = await database.db
      .select()
      .from(callEvents)
      .where(eq(callEvents.callId, callId))
      .orderBy(asc(callEvents.seq));
    expect(events[0]!.type).toBe('call.started');
    expect(events.at(-1)!.type).toBe('call.ended');
    // In the order they happened (interim words are not stored, so numbers may skip).
    expect(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq)).toBe(true);
    const conversation = ['agent.speech.started', 'agent.speech.ended', 'user.turn'];
    expect(events.filter((e) => conversation.includes(e.type)).map((e) => e.type)).toEqual([
      'agent.speech.started',
      'agent.speech.ended',
      'user.turn',
      'agent.speech.started',
      'agent.speech.ended',
    ]);
    expect(events.some((e) => e.type === 'turn.latency')).toBe(true);

    // The recording is as long as the call, caller left and agent right.
    const recordingPath = row!.recordingPath!;
    expect(existsSync(recordingPath)).toBe(true);
    const wav = parseWav(new Uint8Array(await readFile(recordingPath)));
    expect(wav.channels).toBe(2);
    const recordedMs = (wav.samples.length / wav.channels / wav.sampleRateHz) * 1000;
    expect(Math.abs(recordedMs - row!.recordingDurationMs!)).toBeLessThan(200);
    const callMs = row!.endedAt!.getTime() - row!.answeredAt!.getTime();
    expect(Math.abs(recordedMs - callMs)).toBeLessThan(1000);
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
    const unconfigured = await createAgent(org, { name: 'Unconfigured', firstMessage: 'Hi.' });
    await publishAgent(org, unconfigured.id);
    const number = '+15550003333';
    await createPhoneNumber(org, {
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
    const [row] = await database.db.select().from(calls).where(eq(calls.id, second.callId));
    expect(row!.status).toBe('ringing');
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
  const twiml = await response.text();
  const stream = parseTwiml(twiml).children.find((e) => e.name === 'Connect')?.children[0];
  const parameter = (name: string) =>
    stream?.children.find((e) => e.name === 'Parameter' && e.attributes['name'] === name)?.attributes[
      'value'
    ] ?? '';
  return {
    streamUrl: stream?.attributes['url'] ?? '',
    callId: parameter('callId'),
    token: parameter('token'),
  };
}
