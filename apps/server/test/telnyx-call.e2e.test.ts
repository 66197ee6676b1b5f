// A phone call into a running Parley through the Telnyx simulator: the signed call.initiated webhook,
// our Call Control answer (to the REST simulator) with the media stream and the call's media token in
// client_state, the media socket, a conversation through the provider simulators, and the call record;
// then the refusals (forged or missing signatures, an unknown number, a number no agent takes, a socket
// presenting another call's token) and a hang-up of a call that never connected. Then outbound calls
// placed through the service and the simulator: the dial with the media stream attached (its token
// issued at dial time, in client_state), the webhooks at the call's own status URL, the conversation,
// the agent hanging up, or pressing keys and then transferring the call through Call Control, and the
// calls that never connect keeping Telnyx's hangup cause.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, eq, transcriptTurns } from '@parley/db';
import { createOutboundCall, createPhoneNumber, ServiceError, type OrgContext } from '@parley/services';
import { decodeTelnyxClientState } from '@parley/telephony';
import {
  loadFixture,
  startTelnyxCaller,
  TTS_SIM_MS_PER_CHARACTER,
  startTelnyxRestSimulator,
  type TelnyxCaller,
  type TelnyxRestSimulator,
  type TelnyxSimulatedCall,
} from '@parley/testkit';
import { CarrierDialer } from '../src/telephony/carrier-dialer.js';
import { telnyxRoutes } from '../src/telephony/telnyx-routes.js';
import {
  endedCallTurns,
  agentTurn,
  expectRecordedConversation,
  GREETING,
  REPLY,
  startInboundCallWorld,
  type InboundCallWorld,
} from './inbound-call-world.js';

const NUMBER = '+15550002222';
/** Registered, but no agent takes its calls. */
const NUMBER_WITHOUT_AGENT = '+15550003333';
const CALLER = '+15557654321';
const GOODBYE = 'Thanks for calling, goodbye!';
/** The transfer destination's number. */
const SALES = '+15550009999';

let world: InboundCallWorld;
let telnyx: TelnyxRestSimulator;
/** The organization, with the dialer that places calls through the Telnyx simulator. */
let dialing: OrgContext;

beforeAll(async () => {
  telnyx = await startTelnyxRestSimulator();
  // Mounted as registerTelephony does, with Call Control pointed at the simulator, for the routes and
  // for the runtime (the agent's transfers and keypad tones).
  const carrierApiUrls = { telnyx: telnyx.baseUrl };
  world = await startInboundCallWorld(
    async (app, env) => {
      telnyxRoutes(app, env, { carrierApiUrls });
    },
    { carrierApiUrls },
  );
  const credentialId = await world.credential('telnyx', {
    apiKey: telnyx.apiKey,
    publicKey: telnyx.publicKeyBase64,
  });
  await createPhoneNumber(world.org, {
    carrier: 'telnyx',
    number: NUMBER,
    credentialId,
    inboundAgentId: world.agentId,
  });
  await createPhoneNumber(world.org, { carrier: 'telnyx', number: NUMBER_WITHOUT_AGENT, credentialId });
  world.deps.dialer = new CarrierDialer({
    deps: world.deps,
    carrierApiUrls: { telnyx: telnyx.baseUrl },
    telnyxConnectionId: telnyx.connectionId,
  });
  dialing = { ...world.org, dialer: world.deps.dialer };
});

afterAll(async () => {
  await telnyx?.close();
  await world?.close();
});

const inboundUrl = () => `${world.deps.publicUrl}/webhooks/telnyx/inbound`;

const listening = (caller: TelnyxCaller) => ({
  nonSilent: caller.nonSilentFrameTimes,
  waitFor: caller.waitFor.bind(caller),
});

/** A call ringing at the application, announced to us with a signed call.initiated. */
async function ring(to = NUMBER): Promise<{ call: TelnyxSimulatedCall; status: number }> {
  const call = telnyx.addIncomingCall({ from: CALLER, to, webhookUrl: inboundUrl() });
  const { status } = await telnyx.sendWebhook(call.callControlId, 'call.initiated');
  return { call, status };
}

const actionsOn = (call: TelnyxSimulatedCall) =>
  telnyx.requests.filter((r) => r.callControlId === call.callControlId).map((r) => r.action);

/** Opens the media socket as Telnyx does once the answer attached the stream. */
function connect(call: TelnyxSimulatedCall, clientState = call.clientState) {
  return startTelnyxCaller({
    url: call.streamUrl!,
    callControlId: call.callControlId,
    callSessionId: call.callSessionId,
    from: call.from,
    to: call.to,
    ...(clientState ? { clientState } : {}),
  });
}

describe('an inbound Telnyx call', () => {
  it('is answered by the agent, converses, and is recorded as it happened', async () => {
    const { call, status } = await ring();
    expect(status).toBe(200);
    // Answered through Call Control with our API key and the media stream attached.
    const answer = telnyx.requests.find(
      (r) => r.callControlId === call.callControlId && r.action === 'answer',
    );
    expect(answer?.authorized).toBe(true);
    expect(answer?.json).toMatchObject({ stream_track: 'inbound_track', stream_bidirectional_mode: 'rtp' });
    expect(call.streamUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/media\/telnyx\/[0-9a-f-]{36}$/);
    const { callId } = decodeTelnyxClientState(call.clientState);
    expect(call.streamUrl!.endsWith(`/${callId}`)).toBe(true);
    expect((await world.callRow(callId!)).status).toBe('ringing');
    expect((await telnyx.sendWebhook(call.callControlId, 'call.answered')).status).toBe(200);

    const caller = await connect(call);
    await agentTurn(listening(caller), 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(listening(caller), endedAtMs);
    await caller.hangUp();
    const hangup = await telnyx.sendWebhook(call.callControlId, 'call.hangup', {
      payload: { hangup_cause: 'normal_clearing', hangup_source: 'caller' },
    });
    expect(hangup.status).toBe(200);

    const row = await expectRecordedConversation(world, callId!, fixture.transcript!);
    expect(row).toMatchObject({
      transport: 'telnyx',
      carrierCallId: call.callControlId,
      fromNumber: CALLER,
      toNumber: NUMBER,
    });
  });

  it('refuses webhooks with a forged or missing signature', async () => {
    const call = telnyx.addIncomingCall({ from: CALLER, to: NUMBER, webhookUrl: inboundUrl() });
    const forged = await telnyx.sendWebhook(call.callControlId, 'call.initiated', {
      tamper: (body) => body.replace(CALLER, '+15550000000'),
    });
    expect(forged.status).toBe(403);
    const stale = await telnyx.sendWebhook(call.callControlId, 'call.initiated', {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(stale.status).toBe(403);
    const unsigned = await fetch(inboundUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: telnyx.webhookBody(call, 'call.initiated'),
    });
    expect(unsigned.status).toBe(403);
    expect(actionsOn(call)).toEqual([]);
  });

  it('does not answer a call to a number no organization has', async () => {
    const { call, status } = await ring('+15550009999');
    expect(status).toBe(200);
    expect(actionsOn(call)).toEqual([]);
  });

  it('hangs up a call to a registered number that no agent takes', async () => {
    const { call, status } = await ring(NUMBER_WITHOUT_AGENT);
    expect(status).toBe(200);
    expect(actionsOn(call)).toEqual(['hangup']);
  });

  it('closes a media socket presenting another call’s token, leaving that call ringing', async () => {
    const first = await ring();
    const second = await ring();
    const secondCallId = decodeTelnyxClientState(second.call.clientState).callId!;

    // The second call's socket, presenting the first call's client_state (its call id and token).
    const intruder = await connect(second.call, first.call.clientState);
    await intruder.waitFor(() => intruder.closedBy === 'server', 5000);
    expect(intruder.media).toHaveLength(0);
    expect((await world.callRow(secondCallId)).status).toBe('ringing');
    // Only the socket was closed: neither call was hung up.
    expect(actionsOn(second.call)).toEqual(['answer']);
    expect(actionsOn(first.call)).toEqual(['answer']);
  });

  it('finishes a call that hung up before its media connected', async () => {
    const { call } = await ring();
    const callId = decodeTelnyxClientState(call.clientState).callId!;
    const forged = await telnyx.sendWebhook(call.callControlId, 'call.hangup', {
      payload: { hangup_cause: 'originator_cancel' },
      tamper: (body) => body.replace('originator_cancel', 'normal_clearing'),
    });
    expect(forged.status).toBe(403);
    expect((await world.callRow(callId)).status).toBe('ringing');

    const hangup = await telnyx.sendWebhook(call.callControlId, 'call.hangup', {
      payload: { hangup_cause: 'originator_cancel' },
      url: `${world.deps.publicUrl}/webhooks/telnyx/status`,
    });
    expect(hangup.status).toBe(200);
    expect(await world.callRow(callId)).toMatchObject({ status: 'canceled', endReason: 'carrier_canceled' });
  });
});

describe('an outbound Telnyx call', () => {
  const place = () => createOutboundCall(dialing, { agentId: world.agentId, to: CALLER, from: NUMBER });
  const statusUrl = (callId: string) => `${world.deps.publicUrl}/webhooks/telnyx/status/${callId}`;

  it('is dialled with its media stream, answered, converses, and is completed', async () => {
    const placed = await place();
    expect(placed).toMatchObject({ status: 'queued', direction: 'outbound', transport: 'telnyx' });
    const call = telnyx.calls.get(placed.carrierCallId!)!;

    // Dialled with our API key on the application, webhooks to the call's own status URL, and the
    // media stream attached with the call's id and media token in client_state.
    const dial = telnyx.requests.find((r) => r.path === '/v2/calls' && r.json?.['to'] === CALLER);
    expect(dial).toMatchObject({ authorized: true });
    expect(dial?.json).toMatchObject({
      connection_id: telnyx.connectionId,
      from: NUMBER,
      webhook_url: statusUrl(placed.id),
      stream_track: 'inbound_track',
      stream_bidirectional_mode: 'rtp',
    });
    expect(call.streamUrl).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/media/telnyx/${placed.id}\\?`));
    const clientState = decodeTelnyxClientState(call.clientState);
    expect(clientState.callId).toBe(placed.id);
    expect(clientState.token).toEqual(expect.any(String));

    expect((await telnyx.sendWebhook(call.callControlId, 'call.initiated')).status).toBe(200);
    expect((await telnyx.sendWebhook(call.callControlId, 'call.answered')).status).toBe(200);
    expect((await world.callRow(placed.id)).status).toBe('in_progress');

    const caller = await connect(call);
    await agentTurn(listening(caller), 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(listening(caller), endedAtMs);
    await caller.hangUp();
    const hangup = await telnyx.sendWebhook(call.callControlId, 'call.hangup', {
      payload: { hangup_cause: 'normal_clearing', hangup_source: 'callee' },
    });
    expect(hangup.status).toBe(200);
    await vi.waitFor(
      async () => {
        expect(await world.callRow(placed.id)).toMatchObject({
          status: 'completed',
          endReason: 'caller_hangup',
        });
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(await world.callRow(placed.id)).toMatchObject({
      direction: 'outbound',
      carrierCallId: call.callControlId,
      answeredAt: expect.any(Date),
      runtimeId: 'test-runtime',
      mediaTokenHash: null,
    });
  });

  it('is ended by the agent once its goodbye has been heard, with a Call Control hang-up', async () => {
    const placed = await place();
    const call = telnyx.calls.get(placed.carrierCallId!)!;
    await telnyx.sendWebhook(call.callControlId, 'call.initiated');
    await telnyx.sendWebhook(call.callControlId, 'call.answered');
    const callee = await connect(call);
    await agentTurn(listening(callee), 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ toolCalls: [{ name: 'end_call', arguments: '{}' }] }, { text: GOODBYE });
    const { endedAtMs } = await callee.play('opening-hours');

    // Closing the stream would leave the leg up, silent: the call is hung up through Call Control,
    // once, with our API key, after the goodbye played out; then the stream closes.
    await callee.waitFor(() => callee.closedBy === 'server', 15_000);
    const goodbyeStarted = callee.firstNonSilentOutboundAfter(endedAtMs);
    expect(goodbyeStarted).not.toBeNull();
    expect(callee.closedAtMs! - goodbyeStarted!).toBeGreaterThan(
      GOODBYE.length * TTS_SIM_MS_PER_CHARACTER - 300,
    );
    const hangups = telnyx.requests.filter(
      (r) => r.callControlId === call.callControlId && r.action === 'hangup',
    );
    expect(hangups).toHaveLength(1);
    expect(hangups[0]!.authorized).toBe(true);
    expect(await endedCallTurns(world, placed.id, { endReason: 'agent_hangup' })).toEqual([
      ['agent', GREETING],
      ['user', fixture.transcript],
      ['agent', GOODBYE],
    ]);

    // Telnyx's call.hangup for the hang-up we asked for changes nothing.
    const hangup = await telnyx.sendWebhook(call.callControlId, 'call.hangup', {
      payload: { hangup_cause: 'normal_clearing', hangup_source: 'caller' },
    });
    expect(hangup.status).toBe(200);
    expect(await world.callRow(placed.id)).toMatchObject({
      status: 'completed',
      endReason: 'agent_hangup',
      answeredAt: expect.any(Date),
    });
  });

  it('lets the agent press keys on the far end’s menu, then transfer the call to a destination', async () => {
    const agentId = await world.publishedAgent({
      callActions: {
        sendDtmf: true,
        transferDestinations: [{ name: 'sales', number: SALES, message: 'Connecting you to sales.' }],
      },
    });
    const placed = await createOutboundCall(dialing, { agentId, to: CALLER, from: NUMBER });
    const call = telnyx.calls.get(placed.carrierCallId!)!;
    await telnyx.sendWebhook(call.callControlId, 'call.initiated');
    await telnyx.sendWebhook(call.callControlId, 'call.answered');
    const callee = await connect(call);
    await agentTurn(listening(callee), 0);
    const actionsOnCall = () => telnyx.requests.filter((r) => r.callControlId === call.callControlId);

    // An automated menu answered: the agent presses 2 through Call Control.
    world.sims.stt.queueUtterance('press two for sales');
    world.sims.llm.script(
      { toolCalls: [{ name: 'send_dtmf', arguments: '{"digits":"2"}' }] },
      { text: 'Waiting for sales.' },
    );
    let { endedAtMs } = await callee.play('opening-hours');
    await agentTurn(listening(callee), endedAtMs);
    const dtmf = actionsOnCall().filter((r) => r.action === 'send_dtmf');
    expect(dtmf.map((r) => r.json)).toEqual([{ digits: '2' }]);
    expect(dtmf[0]!.authorized).toBe(true);
    const offered = (world.sims.llm.requests.at(-1)!.body.tools ?? []) as { function: { name: string } }[];
    expect(offered.map((tool) => tool.function.name)).toEqual(['end_call', 'transfer_call', 'send_dtmf']);

    // Then the agent hands the call over: Telnyx bridges the caller to sales and our leg leaves.
    world.sims.stt.queueUtterance('yes put me through');
    world.sims.llm.script({ toolCalls: [{ name: 'transfer_call', arguments: '{"destination":"sales"}' }] });
    ({ endedAtMs } = await callee.play('opening-hours'));
    await callee.waitFor(() => callee.closedBy === 'server', 15_000);
    await vi.waitFor(
      async () =>
        expect(await world.callRow(placed.id)).toMatchObject({
          status: 'completed',
          endReason: 'transferred',
        }),
      { timeout: 10_000, interval: 50 },
    );
    // DTMF, then the transfer to the destination's number, and no hang-up: the caller is on the new leg.
    const actions = actionsOnCall().filter((r) => r.action !== null && r.action !== 'answer');
    expect(actions.map((r) => [r.action, r.json])).toEqual([
      ['send_dtmf', { digits: '2' }],
      ['transfer', { to: SALES }],
    ]);
    expect(actions[1]!.authorized).toBe(true);
    const turns = await world.database.db
      .select()
      .from(transcriptTurns)
      .where(eq(transcriptTurns.callId, placed.id))
      .orderBy(asc(transcriptTurns.seq));
    expect(turns.filter((t) => t.role === 'agent').map((t) => t.text)).toEqual([
      GREETING,
      'Waiting for sales.',
      'Connecting you to sales.',
    ]);
  });

  it('refuses a webhook at the call’s status URL with a forged signature', async () => {
    const placed = await place();
    const forged = await telnyx.sendWebhook(placed.carrierCallId!, 'call.hangup', {
      payload: { hangup_cause: 'user_busy' },
      tamper: (body) => body.replace('user_busy', 'timeout'),
    });
    expect(forged.status).toBe(403);
    expect((await world.callRow(placed.id)).status).toBe('queued');
  });

  it('fails to dial, saying why, when no Call Control application id is configured', async () => {
    const withoutApplication = {
      ...world.org,
      dialer: new CarrierDialer({ deps: world.deps, carrierApiUrls: { telnyx: telnyx.baseUrl } }),
    };
    const dials = telnyx.requests.filter((r) => r.path === '/v2/calls').length;
    const failure = await createOutboundCall(withoutApplication, {
      agentId: world.agentId,
      to: CALLER,
      from: NUMBER,
    }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ServiceError);
    const { code, details } = failure as ServiceError;
    expect(code).toBe('dial_failed');
    expect(await world.callRow((details as { callId: string }).callId)).toMatchObject({
      status: 'failed',
      endReason: 'dial_failed',
      carrierReason: expect.stringContaining('connectionId'),
    });
    expect(telnyx.requests.filter((r) => r.path === '/v2/calls')).toHaveLength(dials);
  });

  for (const [cause, sip, expected, reason] of [
    ['user_busy', null, 'busy', 'user_busy'],
    ['timeout', null, 'no_answer', 'timeout'],
    ['unspecified', '503', 'failed', 'unspecified (sip 503)'],
  ] as const) {
    it(`ends as ${expected} when Telnyx hangs up with ${cause}, keeping its cause`, async () => {
      const placed = await place();
      await telnyx.sendWebhook(placed.carrierCallId!, 'call.initiated');
      const hangup = await telnyx.sendWebhook(placed.carrierCallId!, 'call.hangup', {
        payload: { hangup_cause: cause, ...(sip ? { sip_hangup_cause: sip } : {}) },
      });
      expect(hangup.status).toBe(200);
      expect(await world.callRow(placed.id)).toMatchObject({
        status: expected,
        endReason: `carrier_${expected}`,
        carrierReason: reason,
        endedAt: expect.any(Date),
      });
    });
  }
});
