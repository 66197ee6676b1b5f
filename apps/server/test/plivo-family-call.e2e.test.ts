// Phone calls into a running Parley through the Plivo and Vobiz simulators (one suite, run for each
// carrier): the signed answer webhook, the bidirectional <Stream> answer whose extraHeaders carry the
// call's media token, the media socket, a conversation through the provider simulators, and a call
// record written as it happened (events, transcript, recording); then the refusals (forged signatures,
// unknown numbers, a socket presenting another call's token) and a call that never connected. Then
// outbound calls placed through the service and the carriers' REST simulators: the create request,
// ringing, the answer URL the carrier fetches once the callee picks up, the conversation, and the
// calls that never connect (busy, no answer, failed) keeping the carrier's reason.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, callEvents, calls, eq, transcriptTurns, type DatabaseHandle } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import type { AgentConfigInput } from '@parley/contracts';
import {
  createAgent,
  cancelCall,
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
  parsePlivoXml,
  placePlivoInboundCall,
  placeVobizInboundCall,
  signPlivoCallback,
  signVobizCallback,
  startCartesiaSimulator,
  startLlmSimulator,
  startPlivoCaller,
  startPlivoRestSimulator,
  startSttSimulator,
  startVobizCaller,
  startVobizRestSimulator,
  type PlivoCaller,
  type PlivoCallerOptions,
  type PlivoInboundCallOptions,
  type PlivoInboundCallResult,
  type PlivoRestSimulator,
  type PlivoRestSimulatorOptions,
} from '@parley/testkit';
import { parseWav } from '@parley/voice';
import { buildApp, type App } from '../src/api/app.js';
import { readiness } from '../src/runtime.js';
import { CarrierDialer } from '../src/telephony/carrier-dialer.js';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { VoiceRuntime } from '../src/telephony/voice-runtime.js';

const SALES = '+15550009999';
const CALLER = '+15557654321';
const GREETING = 'Hello, thanks for calling Acme. How can I help?';
const REPLY = 'We open at nine on Saturdays.';

/** What differs between the two carriers, as far as this suite is concerned. */
interface CarrierCase {
  carrier: 'plivo' | 'vobiz';
  authToken: string;
  /** The number as registered in Parley (E.164). */
  number: string;
  /** The number as the carrier writes it in its webhooks: Plivo leaves out the `+`. */
  wire: (number: string) => string;
  placeCall: (options: PlivoInboundCallOptions) => Promise<PlivoInboundCallResult>;
  startCaller: (options: PlivoCallerOptions) => Promise<PlivoCaller>;
  sign: (authToken: string, url: string, fields: URLSearchParams) => Record<string, string>;
  /** Fields the carrier adds to every callback (Vobiz's Event). */
  callbackExtras: (event: string) => Record<string, string>;
  startRest: (options: PlivoRestSimulatorOptions) => Promise<PlivoRestSimulator>;
}

const CASES: CarrierCase[] = [
  {
    carrier: 'plivo',
    authToken: 'plivo-auth-token-0123456789abcdef',
    number: '+15550002222',
    wire: (number) => number.replace(/^\+/, ''),
    placeCall: placePlivoInboundCall,
    startCaller: startPlivoCaller,
    sign: (authToken, url, fields) => signPlivoCallback(authToken, url, fields),
    callbackExtras: () => ({}),
    startRest: startPlivoRestSimulator,
  },
  {
    carrier: 'vobiz',
    authToken: 'vobiz-auth-token-0123456789abcdef',
    number: '+15550003333',
    wire: (number) => number,
    placeCall: placeVobizInboundCall,
    startCaller: startVobizCaller,
    sign: (authToken, url) => signVobizCallback(authToken, url),
    callbackExtras: (event) => ({ Event: event }),
    startRest: startVobizRestSimulator,
  },
];

let database: DatabaseHandle;
let app: App;
let voice: VoiceRuntime;
let deps: ServiceDeps;
let org: OrgContext;
let recordingsDir: string;
let agentId: string;
/** The agent's configuration, for variants of it. */
let agentConfig: AgentConfigInput;
/** The carriers' REST simulators, by carrier. */
const rests = new Map<string, PlivoRestSimulator>();
const authIdOf = (carrier: string) => `MA${carrier.toUpperCase()}0001`;
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
    // The dialer (made below, once the carrier simulators run) also acts on live calls.
    callControl: { callControlFor: (call) => (deps.dialer as CarrierDialer).callControlFor(call) },
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

  for (const c of CASES) {
    rests.set(c.carrier, await c.startRest({ authId: authIdOf(c.carrier), authToken: c.authToken }));
  }
  deps.dialer = new CarrierDialer({
    deps,
    carrierApiUrls: Object.fromEntries([...rests].map(([carrier, rest]) => [carrier, rest.baseUrl])),
  });
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
  agentConfig = {
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
  };
  const agent = await createAgent(org, agentConfig);
  await publishAgent(org, agent.id);
  agentId = agent.id;
  for (const c of CASES) {
    await createPhoneNumber(org, {
      carrier: c.carrier,
      number: c.number,
      credentialId: await credential(c.carrier, { authId: authIdOf(c.carrier), authToken: c.authToken }),
      inboundAgentId: agent.id,
    });
  }
});

afterAll(async () => {
  await voice?.close();
  await app?.close();
  await Promise.all([
    sims?.stt.close(),
    sims?.llm.close(),
    sims?.tts.close(),
    ...[...rests.values()].map((rest) => rest.close()),
  ]);
  await database?.close();
  if (recordingsDir) await rm(recordingsDir, { recursive: true, force: true });
});

/**
 * Resolves once the agent has spoken after `afterMs`, its audio has finished playing on the phone and
 * the line has then been quiet for `quietMs`.
 */
async function agentTurn(caller: PlivoCaller, afterMs: number, quietMs = 500): Promise<number> {
  const started = await caller.waitFor(
    () => caller.nonSilentFrameTimes.find((atMs) => atMs > afterMs) ?? null,
    15_000,
  );
  await caller.waitFor(() => {
    const last = caller.nonSilentFrameTimes.at(-1);
    return last !== undefined && caller.bufferedOutboundMs === 0 && performance.now() - last >= quietMs;
  }, 15_000);
  return started;
}

const rowOf = async (callId: string) =>
  (await database.db.select().from(calls).where(eq(calls.id, callId)))[0];

describe.each(CASES)('an inbound $carrier call', (c) => {
  const answerUrl = () => `${deps.publicUrl}/webhooks/${c.carrier}/inbound`;
  const statusUrl = () => `${deps.publicUrl}/webhooks/${c.carrier}/status`;

  /** POSTs form fields to `url`, signed as the carrier signs them (or with the given headers). */
  const post = (url: string, fields: Record<string, string>, headers?: Record<string, string>) => {
    const form = new URLSearchParams(fields);
    return fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(headers ?? c.sign(c.authToken, url, form)),
      },
      body: form.toString(),
    });
  };

  /** The answer webhook of a new call, signed as the carrier signs it; the stream is not opened. */
  async function answerWithoutConnecting(callUuid: string) {
    const response = await post(answerUrl(), {
      CallUUID: callUuid,
      From: c.wire(CALLER),
      To: c.wire(c.number),
      Direction: 'inbound',
      CallStatus: 'ringing',
      ...c.callbackExtras('StartApp'),
    });
    expect(response.status).toBe(200);
    const stream = parsePlivoXml(await response.text()).children.find((verb) => verb.name === 'Stream');
    const extraHeaders = Object.fromEntries(
      (stream?.attributes['extraHeaders'] ?? '').split(',').map((pair) => pair.split('=')),
    ) as Record<string, string>;
    const streamUrl = stream?.text ?? '';
    return { streamUrl, callId: streamUrl.split('/').at(-1) ?? '', extraHeaders };
  }

  it('is answered by the agent, converses, and is recorded as it happened', async () => {
    const placed = await c.placeCall({
      answerUrl: answerUrl(),
      authToken: c.authToken,
      from: c.wire(CALLER),
      to: c.wire(c.number),
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream, got: ${placed.xml}`);
    const { caller } = placed;
    expect(placed.attributes).toMatchObject({
      bidirectional: 'true',
      audioTrack: 'inbound',
      keepCallAlive: 'true',
      contentType: 'audio/x-mulaw;rate=8000',
    });
    const callId = placed.streamUrl.split('/').at(-1)!;
    expect(placed.streamUrl).toBe(`${deps.publicUrl.replace(/^http/, 'ws')}/media/${c.carrier}/${callId}`);

    // The greeting is heard: real audio, played out to its last checkpoint.
    await agentTurn(caller, 0);
    expect(caller.playedSent.length).toBeGreaterThan(0);
    expect(caller.invalidMessages).toEqual([]);

    const fixture = loadFixture('opening-hours');
    sims.stt.queueUtterance(fixture.transcript!);
    sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    await caller.hangUp();

    await vi.waitFor(
      async () => {
        expect(await rowOf(callId)).toMatchObject({ status: 'completed', endReason: 'caller_hangup' });
      },
      { timeout: 10_000, interval: 50 },
    );
    const row = await rowOf(callId);
    expect(row).toMatchObject({
      organizationId: org.organizationId,
      direction: 'inbound',
      transport: c.carrier,
      carrierCallId: placed.callUuid,
      fromNumber: CALLER,
      toNumber: c.number,
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

    // The carrier's hangup callback after the socket closed adds its reason, and changes nothing else.
    const hangup = await post(statusUrl(), {
      CallUUID: placed.callUuid,
      CallStatus: 'completed',
      HangupCause: 'NORMAL_CLEARING',
      Duration: '7',
      ...c.callbackExtras('Hangup'),
    });
    expect(hangup.status).toBe(204);
    expect(await rowOf(callId)).toMatchObject({
      status: 'completed',
      endReason: 'caller_hangup',
      carrierReason: 'NORMAL_CLEARING',
    });
  });

  it('refuses an answer webhook with a forged or missing signature', async () => {
    const forged = await c
      .placeCall({
        answerUrl: answerUrl(),
        authToken: 'not-the-auth-token',
        from: c.wire(CALLER),
        to: c.wire(c.number),
      })
      .catch((error: unknown) => error);
    expect(String(forged)).toMatch(/HTTP 403/);
    const fields = { CallUUID: 'unsigned-call', From: c.wire(CALLER), To: c.wire(c.number) };
    const missing = await post(answerUrl(), fields, {});
    expect(missing.status).toBe(403);
    // Nothing was recorded for either.
    const rows = await database.db.select().from(calls).where(eq(calls.carrierCallId, 'unsigned-call'));
    expect(rows).toEqual([]);
  });

  it('speaks a polite rejection for a number no organization has', async () => {
    const placed = await c.placeCall({
      answerUrl: answerUrl(),
      authToken: c.authToken,
      from: c.wire(CALLER),
      to: c.wire('+15550009999'),
    });
    expect(placed.kind).toBe('hangup');
    if (placed.kind === 'hangup') expect(placed.spoken.join(' ')).toMatch(/sorry/i);
  });

  it('closes a media socket that presents another call’s token, without a conversation', async () => {
    const first = await answerWithoutConnecting(`${c.carrier}-first`);
    const second = await answerWithoutConnecting(`${c.carrier}-second`);
    const intruder = await c.startCaller({
      url: second.streamUrl,
      extraHeaders: { callId: second.extraHeaders['callId']!, token: first.extraHeaders['token']! },
    });
    await intruder.waitFor(() => intruder.closedBy === 'server', 5000);
    expect(intruder.received.filter((message) => message.kind === 'playAudio')).toEqual([]);
    expect((await rowOf(second.callId))!.status).toBe('ringing');
    expect((await rowOf(first.callId))!.status).toBe('ringing');

    // A socket naming no call of ours is refused before it opens.
    const stranger = await c
      .startCaller({
        url: second.streamUrl.replace(second.callId, '00000000-0000-4000-8000-000000000000'),
        extraHeaders: second.extraHeaders,
      })
      .catch((error: unknown) => error);
    expect(String(stranger)).toMatch(/403/);
  });

  it('records the carrier’s reason for a call that never connected', async () => {
    const never = await answerWithoutConnecting(`${c.carrier}-never`);
    expect((await rowOf(never.callId))!.status).toBe('ringing');
    const fields = {
      CallUUID: `${c.carrier}-never`,
      CallStatus: 'no-answer',
      HangupCause: 'NO_ANSWER',
      Duration: '0',
      ...c.callbackExtras('Hangup'),
    };

    const forged = await post(
      statusUrl(),
      fields,
      c.sign('not-the-auth-token', statusUrl(), new URLSearchParams(fields)),
    );
    expect(forged.status).toBe(403);
    expect((await rowOf(never.callId))!.status).toBe('ringing');

    const signed = await post(statusUrl(), fields);
    expect(signed.status).toBe(204);
    expect(await rowOf(never.callId)).toMatchObject({
      status: 'no_answer',
      endReason: 'carrier_no_answer',
      carrierReason: 'NO_ANSWER',
    });

    // Its token is no good any more: the call is over.
    const late = await c.startCaller({ url: never.streamUrl, extraHeaders: never.extraHeaders });
    await late.waitFor(() => late.closedBy === 'server', 5000);
    expect((await rowOf(never.callId))!.status).toBe('no_answer');
  });
});

describe.each(CASES)('an outbound $carrier call', (c) => {
  const rest = () => rests.get(c.carrier)!;
  const answerUrl = (callId: string) => `${deps.publicUrl}/webhooks/${c.carrier}/answer/${callId}`;
  const statusUrl = (callId: string) => `${deps.publicUrl}/webhooks/${c.carrier}/status/${callId}`;

  it('is placed through the REST API, rings, is answered, converses, and is completed', async () => {
    const placed = await createOutboundCall(org, { agentId, to: CALLER, from: c.number });
    expect(placed).toMatchObject({ status: 'queued', direction: 'outbound', transport: c.carrier });
    const requestUuid = placed.carrierCallId!;

    // The carrier was asked, with the number's credential, to call the callee from our number.
    const created = rest().requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Call/'));
    expect(created.at(-1)).toMatchObject({
      path: `/Account/${authIdOf(c.carrier)}/Call/`,
      authorized: true,
      responseStatus: 201,
    });
    expect(rest().call(requestUuid).create).toMatchObject({
      from: c.wire(c.number),
      to: c.wire(CALLER),
      answer_url: answerUrl(placed.id),
      answer_method: 'POST',
      ring_url: statusUrl(placed.id),
      hangup_url: statusUrl(placed.id),
    });

    expect((await rest().ring(requestUuid)).responseStatus).toBe(204);
    expect((await rowOf(placed.id))!.status).toBe('ringing');

    // The callee picks up: the carrier fetches the answer URL, which streams the call to us.
    const { xml } = await rest().answer(requestUuid);
    const callUuid = rest().call(requestUuid).callUuid!;
    // From now on the call is named as the carrier names it (Plivo's CallUUID is not its request uuid).
    expect((await rowOf(placed.id))!.carrierCallId).toBe(callUuid);
    const stream = parsePlivoXml(xml).children.find((verb) => verb.name === 'Stream');
    expect(stream?.attributes).toMatchObject({
      bidirectional: 'true',
      keepCallAlive: 'true',
      contentType: 'audio/x-mulaw;rate=8000',
    });
    expect(stream?.text).toBe(`${deps.publicUrl.replace(/^http/, 'ws')}/media/${c.carrier}/${placed.id}`);
    const extraHeaders = Object.fromEntries(
      (stream?.attributes['extraHeaders'] ?? '').split(',').map((pair) => pair.split('=')),
    ) as Record<string, string>;
    const caller = await c.startCaller({ url: stream!.text, extraHeaders, callId: callUuid });

    await agentTurn(caller, 0);
    expect(caller.playedSent.length).toBeGreaterThan(0);
    const fixture = loadFixture('opening-hours');
    sims.stt.queueUtterance(fixture.transcript!);
    sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    await caller.hangUp();
    await vi.waitFor(
      async () => {
        expect(await rowOf(placed.id)).toMatchObject({ status: 'completed', endReason: 'caller_hangup' });
      },
      { timeout: 10_000, interval: 50 },
    );
    expect((await rest().hangup(requestUuid, 'completed', 'NORMAL_CLEARING')).responseStatus).toBe(204);

    const turns = await database.db
      .select()
      .from(transcriptTurns)
      .where(eq(transcriptTurns.callId, placed.id))
      .orderBy(asc(transcriptTurns.seq));
    expect(turns.map((t) => [t.role, t.text])).toEqual([
      ['agent', GREETING],
      ['user', fixture.transcript],
      ['agent', REPLY],
    ]);
    expect(await rowOf(placed.id)).toMatchObject({
      status: 'completed',
      direction: 'outbound',
      carrierCallId: callUuid,
      answeredAt: expect.any(Date),
      runtimeId: 'test-runtime',
      endReason: 'caller_hangup',
    });
  });

  it('lets the agent press keys on the far end’s menu, then transfer the call to a destination', async () => {
    const agent = await createAgent(org, {
      ...agentConfig,
      callActions: {
        sendDtmf: true,
        transferDestinations: [{ name: 'sales', number: SALES, message: 'Connecting you to sales.' }],
      },
    });
    await publishAgent(org, agent.id);
    const placed = await createOutboundCall(org, { agentId: agent.id, to: CALLER, from: c.number });
    const requestUuid = placed.carrierCallId!;
    const { xml } = await rest().answer(requestUuid);
    const callUuid = rest().call(requestUuid).callUuid!;
    const stream = parsePlivoXml(xml).children.find((verb) => verb.name === 'Stream')!;
    const extraHeaders = Object.fromEntries(
      (stream.attributes['extraHeaders'] ?? '').split(',').map((pair) => pair.split('=')),
    ) as Record<string, string>;
    const caller = await c.startCaller({ url: stream.text, extraHeaders, callId: callUuid });
    await agentTurn(caller, 0);

    // An automated menu answered: the agent presses 2 through the carrier's DTMF API.
    sims.stt.queueUtterance('press two for sales');
    sims.llm.script(
      { toolCalls: [{ name: 'send_dtmf', arguments: '{"digits":"2"}' }] },
      { text: 'Waiting for sales.' },
    );
    let { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    expect(rest().call(requestUuid).digits).toEqual(['2']);
    const offered = (sims.llm.requests.at(-1)!.body.tools ?? []) as { function: { name: string } }[];
    expect(offered.map((tool) => tool.function.name)).toEqual(['end_call', 'transfer_call', 'send_dtmf']);

    // Then the agent hands the call over: the carrier is pointed at a signed dial document.
    sims.stt.queueUtterance('yes put me through');
    sims.llm.script({ toolCalls: [{ name: 'transfer_call', arguments: '{"destination":"sales"}' }] });
    ({ endedAtMs } = await caller.play('opening-hours'));
    await vi.waitFor(() => expect(rest().callbacks.filter((cb) => cb.kind === 'transfer')).toHaveLength(1), {
      timeout: 15_000,
      interval: 50,
    });
    const fetched = rest().callbacks.find((cb) => cb.kind === 'transfer')!;
    expect(fetched.responseStatus).toBe(200);
    const dial = parsePlivoXml(fetched.responseBody).children.find((verb) => verb.name === 'Dial');
    expect(dial?.children.map((verb) => [verb.name, verb.text])).toEqual([['Number', SALES]]);
    await vi.waitFor(
      async () =>
        expect(await rowOf(placed.id)).toMatchObject({ status: 'completed', endReason: 'transferred' }),
      { timeout: 10_000, interval: 50 },
    );
    const turns = await database.db
      .select()
      .from(transcriptTurns)
      .where(eq(transcriptTurns.callId, placed.id))
      .orderBy(asc(transcriptTurns.seq));
    expect(turns.filter((t) => t.role === 'agent').map((t) => t.text)).toEqual([
      GREETING,
      'Waiting for sales.',
      'Connecting you to sales.',
    ]);

    // A forged fetch of a transfer document is refused.
    const forged = await fetch(fetched.url, { method: 'POST', body: fetched.form });
    expect(forged.status).toBe(403);
  });

  it('refuses an answer or a callback with a forged signature, and connects nothing', async () => {
    const placed = await createOutboundCall(org, { agentId, to: CALLER, from: c.number });
    const fields = new URLSearchParams({
      CallUUID: placed.carrierCallId!,
      RequestUUID: placed.carrierCallId!,
      From: c.wire(c.number),
      To: c.wire(CALLER),
      Direction: 'outbound',
      CallStatus: 'in-progress',
    });
    for (const url of [answerUrl(placed.id), statusUrl(placed.id)]) {
      const forged = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...c.sign('not-the-auth-token', url, fields),
        },
        body: fields.toString(),
      });
      expect(forged.status).toBe(403);
    }
    expect(await rowOf(placed.id)).toMatchObject({ status: 'queued', mediaTokenHash: null });
  });

  it('hangs up instead of streaming when the call ended before the answer arrived', async () => {
    const placed = await createOutboundCall(org, { agentId, to: CALLER, from: c.number });
    const requestUuid = placed.carrierCallId!;
    await rest().ring(requestUuid);
    await rest().hangup(requestUuid, 'cancel', 'ORIGINATOR_CANCEL');
    const { xml } = await rest().answer(requestUuid);
    expect(parsePlivoXml(xml).children.map((verb) => verb.name)).toEqual(['Hangup']);
  });

  it('is canceled at the carrier when canceled through the API while it rings', async () => {
    const placed = await createOutboundCall(org, { agentId, to: CALLER, from: c.number });
    const requestUuid = placed.carrierCallId!;
    await rest().ring(requestUuid);
    expect(await cancelCall(org, placed.id)).toMatchObject({ status: 'canceled' });
    expect(rest().call(requestUuid).status).toBe('cancel');
  });

  for (const [status, cause, expected] of [
    ['busy', 'USER_BUSY', 'busy'],
    ['no-answer', 'NO_ANSWER', 'no_answer'],
    ['failed', 'UNALLOCATED_NUMBER', 'failed'],
  ] as const) {
    it(`ends as ${expected} when the carrier reports ${status}, keeping its reason`, async () => {
      const placed = await createOutboundCall(org, { agentId, to: CALLER, from: c.number });
      const requestUuid = placed.carrierCallId!;
      await rest().ring(requestUuid);
      const hangup = await rest().hangup(requestUuid, status, cause);
      expect(hangup.responseStatus).toBe(204);
      expect(await rowOf(placed.id)).toMatchObject({
        status: expected,
        endReason: `carrier_${expected}`,
        carrierReason: cause,
        endedAt: expect.any(Date),
      });
    });
  }
});
