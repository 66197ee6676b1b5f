// A phone call into a running Parley through the Exotel simulator: the Voicebot applet fetching our
// inbound URL (with the URL token the operator configures) and getting the call's own media URL, the
// media socket claimed with the media token echoed in custom_parameters, a conversation through the
// provider simulators, and the call record; then the refusals (missing or wrong token, unknown numbers,
// a socket presenting another call's token) and a status callback for a call that never connected.
// Then outbound calls placed through the service and the Exotel REST simulator: the connect request
// whose StreamUrl is the call's media URL with a token issued at dial time, the status callbacks at
// the call's own URL, the conversation, and the calls that never connect keeping Exotel's status.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOutboundCall, createPhoneNumber, type OrgContext } from '@parley/services';
import {
  loadFixture,
  startExotelCaller,
  TTS_SIM_MS_PER_CHARACTER,
  startExotelRestSimulator,
  type ExotelCaller,
  type ExotelRestSimulator,
} from '@parley/testkit';
import { CarrierDialer } from '../src/telephony/carrier-dialer.js';
import { exotelStatusCallbackUrl, exotelWebhookToken } from '../src/telephony/exotel-routes.js';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import {
  endedCallTurns,
  agentTurn,
  expectRecordedConversation,
  GREETING,
  REPLY,
  startInboundCallWorld,
  type InboundCallWorld,
} from './inbound-call-world.js';

const API_KEY = 'exotel-api-key';
const API_TOKEN = 'exotel-api-token-0123456789abcdef';
/** The ExoPhone as registered in Parley … */
const NUMBER = '+918047491899';
/** … and as Exotel writes it in the applet request (national form). */
const NUMBER_AS_EXOTEL_SENDS = '08047491899';
const CALLER = '09876543210';
/** Whom outbound calls dial. */
const CALLEE = '+919876543210';
const ACCOUNT_SID = 'acme-account';
const GOODBYE = 'Thanks for calling, goodbye!';

let world: InboundCallWorld;
let exotel: ExotelRestSimulator;
/** The organization, with the dialer that places calls through the Exotel simulator. */
let dialing: OrgContext;

beforeAll(async () => {
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env));
  exotel = await startExotelRestSimulator({
    accountSid: ACCOUNT_SID,
    apiKey: API_KEY,
    apiToken: API_TOKEN,
  });
  world.deps.dialer = new CarrierDialer({ deps: world.deps, carrierApiUrls: { exotel: exotel.baseUrl } });
  dialing = { ...world.org, dialer: world.deps.dialer };
  const credentialId = await world.credential('exotel', {
    accountSid: ACCOUNT_SID,
    apiKey: API_KEY,
    apiToken: API_TOKEN,
  });
  await createPhoneNumber(world.org, {
    carrier: 'exotel',
    number: NUMBER,
    credentialId,
    inboundAgentId: world.agentId,
  });
});

afterAll(async () => {
  await exotel?.close();
  await world?.close();
});

/** The applet URL as the operator configures it: our inbound URL with the credential's URL token. */
const appletUrl = (token = exotelWebhookToken(API_TOKEN)) =>
  `${world.deps.publicUrl}/webhooks/exotel/inbound?token=${encodeURIComponent(token)}`;

const listening = (caller: ExotelCaller) => ({
  nonSilent: caller.nonSilentChunkTimes,
  waitFor: caller.waitFor.bind(caller),
});

/** Exotel fetching the applet URL for a new call; the stream is not opened. */
async function fetchStreamUrl(callSid: string, options: { token?: string; to?: string } = {}) {
  return exotel.fetchAppletUrl(appletUrl(options.token), {
    callSid,
    from: CALLER,
    to: options.to ?? NUMBER_AS_EXOTEL_SENDS,
  });
}

/** Opens the media socket as Exotel does, echoing the stream URL's query as custom parameters. */
function connect(streamUrl: string, callSid: string, customParameters?: Record<string, string>) {
  const url = new URL(streamUrl);
  return startExotelCaller({
    url: streamUrl,
    callSid,
    from: CALLER,
    to: NUMBER_AS_EXOTEL_SENDS,
    customParameters: customParameters ?? Object.fromEntries(url.searchParams),
  });
}

describe('an inbound Exotel call', () => {
  it('is answered by the agent, converses, and is recorded as it happened', async () => {
    const answer = await fetchStreamUrl('exotel-call-1');
    expect(answer.status).toBe(200);
    expect(answer.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/media\/exotel\/[0-9a-f-]{36}\?/);
    const callId = new URL(answer.url!).searchParams.get('callId')!;
    expect((await world.callRow(callId)).status).toBe('ringing');

    const caller = await connect(answer.url!, 'exotel-call-1');
    await agentTurn(listening(caller), 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(listening(caller), endedAtMs);
    await caller.hangUp();

    const row = await expectRecordedConversation(world, callId, fixture.transcript!);
    expect(row).toMatchObject({
      transport: 'exotel',
      carrierCallId: 'exotel-call-1',
      fromNumber: CALLER,
      toNumber: NUMBER,
    });
    // Exotel plays only chunks of whole 320-byte multiples, at least 100 ms long.
    expect(caller.nonCompliantChunks).toBe(0);
  });

  it('refuses an applet request without the URL token, with a wrong one, or with forged Basic auth', async () => {
    const wrong = await fetchStreamUrl('exotel-forged', { token: exotelWebhookToken('not-the-api-token') });
    expect(wrong).toEqual({ status: 403, url: null });

    const bare = new URL(`${world.deps.publicUrl}/webhooks/exotel/inbound`);
    bare.searchParams.set('CallSid', 'exotel-bare');
    bare.searchParams.set('CallTo', NUMBER_AS_EXOTEL_SENDS);
    expect((await fetch(bare)).status).toBe(403);
    const forgedBasic = await fetch(bare, {
      headers: { authorization: `Basic ${Buffer.from(`${API_KEY}:guess`).toString('base64')}` },
    });
    expect(forgedBasic.status).toBe(403);
    // The Basic auth of the credential (wss://key:token@… style) is accepted.
    const basic = await fetch(bare, {
      headers: { authorization: `Basic ${Buffer.from(`${API_KEY}:${API_TOKEN}`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
  });

  it('gives no stream URL for a number no organization has', async () => {
    const answer = await fetchStreamUrl('exotel-unknown', { to: '08000000000' });
    expect(answer).toEqual({ status: 404, url: null });
  });

  it('closes a media socket presenting another call’s token, leaving that call ringing', async () => {
    const first = await fetchStreamUrl('exotel-first');
    const second = await fetchStreamUrl('exotel-second');
    const firstToken = new URL(first.url!).searchParams.get('token')!;
    const secondCallId = new URL(second.url!).searchParams.get('callId')!;

    const intruder = await connect(second.url!, 'exotel-second', { callId: secondCallId, token: firstToken });
    await intruder.waitFor(() => intruder.closedBy === 'server', 5000);
    expect(intruder.media).toHaveLength(0);
    expect((await world.callRow(secondCallId)).status).toBe('ringing');
  });

  it('finishes a call that never connected from its status callback, checking the URL token', async () => {
    const answer = await fetchStreamUrl('exotel-no-media');
    const callId = new URL(answer.url!).searchParams.get('callId')!;
    const forged = await exotel.sendStatusCallback('exotel-no-media', {
      status: 'completed',
      url: exotelStatusCallbackUrl(world.deps.publicUrl, 'not-the-api-token'),
    });
    expect(forged.status).toBe(403);
    expect((await world.callRow(callId)).status).toBe('ringing');

    const genuine = await exotel.sendStatusCallback('exotel-no-media', {
      status: 'failed',
      url: exotelStatusCallbackUrl(world.deps.publicUrl, API_TOKEN),
    });
    expect(genuine.status).toBe(204);
    expect(await world.callRow(callId)).toMatchObject({ status: 'failed', endReason: 'carrier_failed' });
  });
});

describe('an outbound Exotel call', () => {
  const place = () => createOutboundCall(dialing, { agentId: world.agentId, to: CALLEE, from: NUMBER });

  it('is placed through the REST API, rings, is answered, converses, and is completed', async () => {
    const placed = await place();
    expect(placed).toMatchObject({ status: 'queued', direction: 'outbound', transport: 'exotel' });
    const sid = placed.carrierCallId!;

    // Exotel was asked, with the number's credential, to dial the callee from the ExoPhone and stream
    // the answered call to this call's media URL.
    expect(exotel.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: `/v1/Accounts/${ACCOUNT_SID}/Calls/connect`,
      authorized: true,
    });
    const created = exotel.calls.get(sid)!;
    expect(created).toMatchObject({
      from: CALLEE,
      callerId: NUMBER,
      statusCallback: exotelStatusCallbackUrl(world.deps.publicUrl, API_TOKEN, placed.id),
      statusCallbackEvents: ['ringing', 'answered', 'terminal'],
    });
    const streamUrl = new URL(created.streamUrl);
    expect(`${streamUrl.origin}${streamUrl.pathname}`).toBe(
      `${world.deps.publicUrl.replace(/^http/, 'ws')}/media/exotel/${placed.id}`,
    );
    expect(streamUrl.searchParams.get('callId')).toBe(placed.id);

    expect((await exotel.sendStatusCallback(sid, { status: 'ringing' })).status).toBe(204);
    expect((await world.callRow(placed.id)).status).toBe('ringing');
    expect((await exotel.sendStatusCallback(sid, { status: 'in-progress' })).status).toBe(204);
    expect((await world.callRow(placed.id)).status).toBe('in_progress');

    // Exotel opens the stream URL it was dialled with.
    const caller = await connect(created.streamUrl, sid);
    await agentTurn(listening(caller), 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(listening(caller), endedAtMs);
    await caller.hangUp();
    await vi.waitFor(
      async () => {
        expect(await world.callRow(placed.id)).toMatchObject({
          status: 'completed',
          endReason: 'caller_hangup',
        });
      },
      { timeout: 10_000, interval: 50 },
    );
    const terminal = await exotel.sendStatusCallback(sid, {
      status: 'completed',
      conversationDurationSeconds: 5,
    });
    expect(terminal.status).toBe(204);
    expect(await world.callRow(placed.id)).toMatchObject({
      status: 'completed',
      direction: 'outbound',
      carrierCallId: sid,
      answeredAt: expect.any(Date),
      runtimeId: 'test-runtime',
      mediaTokenHash: null,
    });
    expect(caller.nonCompliantChunks).toBe(0);
  });

  it('is ended by the agent once its goodbye has been heard, by closing the stream', async () => {
    const placed = await place();
    const sid = placed.carrierCallId!;
    await exotel.sendStatusCallback(sid, { status: 'ringing' });
    await exotel.sendStatusCallback(sid, { status: 'in-progress' });
    const callee = await connect(exotel.calls.get(sid)!.streamUrl, sid);
    const requestsBefore = exotel.requests.length;
    await agentTurn(listening(callee), 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ toolCalls: [{ name: 'end_call', arguments: '{}' }] }, { text: GOODBYE });
    const { endedAtMs } = await callee.play('opening-hours');

    // Exotel has no API to hang up a call: the agent's side closes the stream once the goodbye has
    // played out, which ends the Voicebot applet (and with it the call, its flow having nothing after).
    await callee.waitFor(() => callee.closedBy === 'server', 15_000);
    const goodbyeStarted = callee.firstNonSilentOutboundAfter(endedAtMs);
    expect(goodbyeStarted).not.toBeNull();
    expect(callee.closedAtMs! - goodbyeStarted!).toBeGreaterThan(
      GOODBYE.length * TTS_SIM_MS_PER_CHARACTER - 300,
    );
    expect(exotel.requests).toHaveLength(requestsBefore);
    expect(await endedCallTurns(world, placed.id, { endReason: 'agent_hangup' })).toEqual([
      ['agent', GREETING],
      ['user', fixture.transcript],
      ['agent', GOODBYE],
    ]);
    expect(callee.nonCompliantChunks).toBe(0);

    // Exotel's terminal callback that follows changes nothing.
    const terminal = await exotel.sendStatusCallback(sid, { status: 'completed' });
    expect(terminal.status).toBe(204);
    expect(await world.callRow(placed.id)).toMatchObject({
      status: 'completed',
      endReason: 'agent_hangup',
      answeredAt: expect.any(Date),
    });
  });

  it('is dialled without machine detection, which Exotel does not offer, even for an agent asking for it', async () => {
    const agentId = await world.publishedAgent({ voicemail: { detect: true, action: 'hang_up' } });
    const placed = await createOutboundCall(dialing, { agentId, to: CALLEE, from: NUMBER });
    expect(placed).toMatchObject({ status: 'queued', transport: 'exotel' });
    const dial = exotel.requests.at(-1)!;
    expect(dial.path).toBe(`/v1/Accounts/${ACCOUNT_SID}/Calls/connect`);
    expect(Object.keys(dial.form).filter((field) => /machine|amd|detect/i.test(field))).toEqual([]);
  });

  it('refuses a status callback without the URL token of the number’s credential', async () => {
    const placed = await place();
    const forged = await exotel.sendStatusCallback(placed.carrierCallId!, {
      status: 'busy',
      url: exotelStatusCallbackUrl(world.deps.publicUrl, 'not-the-api-token', placed.id),
    });
    expect(forged.status).toBe(403);
    expect((await world.callRow(placed.id)).status).toBe('queued');
  });

  for (const [status, expected] of [
    ['busy', 'busy'],
    ['no-answer', 'no_answer'],
    ['failed', 'failed'],
  ] as const) {
    it(`ends as ${expected} when Exotel reports ${status}, keeping its reason`, async () => {
      const placed = await place();
      await exotel.sendStatusCallback(placed.carrierCallId!, { status: 'ringing' });
      const terminal = await exotel.sendStatusCallback(placed.carrierCallId!, { status });
      expect(terminal.status).toBe(204);
      expect(await world.callRow(placed.id)).toMatchObject({
        status: expected,
        endReason: `carrier_${expected}`,
        carrierReason: expect.stringContaining(status),
        endedAt: expect.any(Date),
      });
    });
  }
});
