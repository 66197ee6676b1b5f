// Phone calls into a running Parley through the Plivo and Vobiz simulators (one suite, run for each
// carrier): the signed answer webhook, the bidirectional <Stream> answer whose extraHeaders carry the
// call's media token, the media socket, a conversation through the provider simulators, and a call
// record written as it happened (events, transcript, recording); then the refusals (forged signatures,
// unknown numbers, a socket presenting another call's token) and a call that never connected. Then
// outbound calls placed through the service and the carriers' REST simulators: the create request,
// ringing, the answer URL the carrier fetches once the callee picks up, the conversation, the agent
// ending the call (end_call), in-call actions, answering machines (hang up, or leave a message), and the
// calls that never connect (busy, no answer, failed) keeping the carrier's reason. The world (database,
// simulators, runtime, app, agent) is the shared one of inbound-call-world.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, calls, eq, transcriptTurns } from '@parley/db';
import { cancelCall, createOutboundCall, createPhoneNumber } from '@parley/services';
import {
  loadFixture,
  parsePlivoXml,
  placePlivoInboundCall,
  placeVobizInboundCall,
  signPlivoCallback,
  signVobizCallback,
  startPlivoCaller,
  startPlivoRestSimulator,
  startVobizCaller,
  startVobizRestSimulator,
  TTS_SIM_MS_PER_CHARACTER,
  type PlivoCaller,
  type PlivoCallerOptions,
  type PlivoInboundCallOptions,
  type PlivoInboundCallResult,
  type PlivoRestSimulator,
  type PlivoRestSimulatorOptions,
} from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import {
  endedCallTurns,
  expectRecordedConversation,
  GREETING,
  REPLY,
  startInboundCallWorld,
  type InboundCallWorld,
} from './inbound-call-world.js';

const SALES = '+15550009999';
const CALLER = '+15557654321';
const GOODBYE = 'Thanks for calling, goodbye!';

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

let world: InboundCallWorld;
/** The carriers' REST simulators, by carrier. */
const rests = new Map<string, PlivoRestSimulator>();
const authIdOf = (carrier: string) => `MA${carrier.toUpperCase()}0001`;

beforeAll(async () => {
  for (const c of CASES) {
    rests.set(c.carrier, await c.startRest({ authId: authIdOf(c.carrier), authToken: c.authToken }));
  }
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env), {
    carrierApiUrls: Object.fromEntries([...rests].map(([carrier, rest]) => [carrier, rest.baseUrl])),
  });
  for (const c of CASES) {
    await createPhoneNumber(world.org, {
      carrier: c.carrier,
      number: c.number,
      credentialId: await world.credential(c.carrier, {
        authId: authIdOf(c.carrier),
        authToken: c.authToken,
      }),
      inboundAgentId: world.agentId,
    });
  }
});

// A simulator's own failure (a transfer document it could not fetch, say) fails the test it happened in.
afterEach(() => {
  for (const rest of rests.values()) rest.errors.throwIfAny();
});

afterAll(async () => {
  await world?.close();
  await Promise.all([...rests.values()].map((rest) => rest.close()));
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

const rowOf = (callId: string) => world.callRow(callId);

describe.each(CASES)('an inbound $carrier call', (c) => {
  const answerUrl = () => `${world.deps.publicUrl}/webhooks/${c.carrier}/inbound`;
  const statusUrl = () => `${world.deps.publicUrl}/webhooks/${c.carrier}/status`;

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
    expect(placed.streamUrl).toBe(
      `${world.deps.publicUrl.replace(/^http/, 'ws')}/media/${c.carrier}/${callId}`,
    );

    // The greeting is heard: real audio, played out to its last checkpoint.
    await agentTurn(caller, 0);
    expect(caller.playedSent.length).toBeGreaterThan(0);
    expect(caller.invalidMessages).toEqual([]);

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
      transport: c.carrier,
      carrierCallId: placed.callUuid,
      fromNumber: CALLER,
      toNumber: c.number,
    });

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
    const rows = await world.database.db.select().from(calls).where(eq(calls.carrierCallId, 'unsigned-call'));
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
  const answerUrl = (callId: string) => `${world.deps.publicUrl}/webhooks/${c.carrier}/answer/${callId}`;
  const statusUrl = (callId: string) => `${world.deps.publicUrl}/webhooks/${c.carrier}/status/${callId}`;

  it('is placed through the REST API, rings, is answered, converses, and is completed', async () => {
    const placed = await createOutboundCall(world.org, {
      agentId: world.agentId,
      to: CALLER,
      from: c.number,
    });
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
    expect(stream?.text).toBe(
      `${world.deps.publicUrl.replace(/^http/, 'ws')}/media/${c.carrier}/${placed.id}`,
    );
    const extraHeaders = Object.fromEntries(
      (stream?.attributes['extraHeaders'] ?? '').split(',').map((pair) => pair.split('=')),
    ) as Record<string, string>;
    const caller = await c.startCaller({ url: stream!.text, extraHeaders, callId: callUuid });

    await agentTurn(caller, 0);
    expect(caller.playedSent.length).toBeGreaterThan(0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
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

    const turns = await world.database.db
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

  /** The callee picks up: the carrier fetches the answer URL and opens the stream it answered with. */
  async function answeredStream(requestUuid: string): Promise<PlivoCaller> {
    const { xml } = await rest().answer(requestUuid);
    const stream = parsePlivoXml(xml).children.find((verb) => verb.name === 'Stream')!;
    const extraHeaders = Object.fromEntries(
      (stream.attributes['extraHeaders'] ?? '').split(',').map((pair) => pair.split('=')),
    ) as Record<string, string>;
    return c.startCaller({ url: stream.text, extraHeaders, callId: rest().call(requestUuid).callUuid! });
  }

  it('is ended by the agent once its goodbye has been heard, by closing the stream', async () => {
    const placed = await createOutboundCall(world.org, {
      agentId: world.agentId,
      to: CALLER,
      from: c.number,
    });
    const requestUuid = placed.carrierCallId!;
    await rest().ring(requestUuid);
    const callee = await answeredStream(requestUuid);
    await agentTurn(callee, 0);
    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ toolCalls: [{ name: 'end_call', arguments: '{}' }] }, { text: GOODBYE });
    const { endedAtMs } = await callee.play('opening-hours');

    // The agent's side closes the media stream once the goodbye has played out to its last checkpoint.
    await callee.waitFor(() => callee.closedBy === 'server', 15_000);
    const goodbyeStarted = callee.nonSilentFrameTimes.find((atMs) => atMs > endedAtMs);
    expect(goodbyeStarted).toBeDefined();
    expect(callee.closedAtMs! - goodbyeStarted!).toBeGreaterThan(
      GOODBYE.length * TTS_SIM_MS_PER_CHARACTER - 300,
    );
    const lastCheckpoint = callee.checkpoints.at(-1)!;
    expect(lastCheckpoint).toMatchObject({ cleared: false, playedAtMs: expect.any(Number) });
    expect(lastCheckpoint.playedAtMs!).toBeLessThanOrEqual(callee.closedAtMs!);
    expect(await endedCallTurns(world, placed.id, { endReason: 'agent_hangup' })).toEqual([
      ['agent', GREETING],
      ['user', fixture.transcript],
      ['agent', GOODBYE],
    ]);
    // Closing the stream is the whole hang-up: with keepCallAlive and nothing after <Stream>, the
    // carrier ends the call itself. No REST hang-up is sent.
    const callUuid = rest().call(requestUuid).callUuid!;
    expect(rest().requests.filter((r) => r.method === 'DELETE' && r.path.includes(callUuid))).toEqual([]);

    // The carrier's hangup callback that follows adds its reason and changes nothing else.
    expect((await rest().hangup(requestUuid, 'completed', 'NORMAL_CLEARING')).responseStatus).toBe(204);
    expect(await rowOf(placed.id)).toMatchObject({
      status: 'completed',
      endReason: 'agent_hangup',
      carrierReason: 'Normal Hangup',
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
    const placed = await createOutboundCall(world.org, { agentId, to: CALLER, from: c.number });
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
    world.sims.stt.queueUtterance('press two for sales');
    world.sims.llm.script(
      { toolCalls: [{ name: 'send_dtmf', arguments: '{"digits":"2"}' }] },
      { text: 'Waiting for sales.' },
    );
    let { endedAtMs } = await caller.play('opening-hours');
    await agentTurn(caller, endedAtMs);
    expect(rest().call(requestUuid).digits).toEqual(['2']);
    const offered = (world.sims.llm.requests.at(-1)!.body.tools ?? []) as { function: { name: string } }[];
    expect(offered.map((tool) => tool.function.name)).toEqual(['end_call', 'transfer_call', 'send_dtmf']);

    // Then the agent hands the call over: the carrier is pointed at a signed dial document.
    world.sims.stt.queueUtterance('yes put me through');
    world.sims.llm.script({ toolCalls: [{ name: 'transfer_call', arguments: '{"destination":"sales"}' }] });
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

    // A forged fetch of a transfer document is refused.
    const forged = await fetch(fetched.url, { method: 'POST', body: fetched.form });
    expect(forged.status).toBe(403);
  });

  describe('answered by a machine', () => {
    const MESSAGE = 'Hi {{customer_name}}, this is Acme about your order. Please call us back. Goodbye!';
    const RENDERED = 'Hi Sam, this is Acme about your order. Please call us back. Goodbye!';
    const agents = { hangUp: '', leaveMessage: '', noDetection: '' };
    beforeAll(async () => {
      const variables = [{ name: 'customer_name', default: 'there' }];
      agents.hangUp = await world.publishedAgent({
        variables,
        voicemail: { detect: true, action: 'hang_up' },
      });
      agents.leaveMessage = await world.publishedAgent({
        variables,
        voicemail: { detect: true, action: 'leave_message', message: MESSAGE },
      });
      agents.noDetection = await world.publishedAgent({ voicemail: { detect: false } });
    });

    /** Places a call with `agentId`; the callee picks up and the media stream connects. */
    async function answeredCall(agentId: string) {
      const placed = await createOutboundCall(world.org, {
        agentId,
        to: CALLER,
        from: c.number,
        variables: { customer_name: 'Sam' },
      });
      const requestUuid = placed.carrierCallId!;
      await rest().ring(requestUuid);
      const line = await answeredStream(requestUuid);
      await vi.waitFor(async () => expect(await rowOf(placed.id)).toMatchObject({ status: 'in_progress' }), {
        timeout: 10_000,
        interval: 50,
      });
      return { callId: placed.id, requestUuid, line };
    }

    const waitForVoicemail = (callId: string) =>
      vi.waitFor(
        async () =>
          expect(await rowOf(callId)).toMatchObject({
            status: 'voicemail',
            endReason: 'voicemail',
            answeredBy: 'machine',
          }),
        { timeout: 15_000, interval: 50 },
      );

    it('asks for asynchronous detection at the call’s status URL only when the agent detects voicemail', async () => {
      const detecting = await createOutboundCall(world.org, {
        agentId: agents.hangUp,
        to: CALLER,
        from: c.number,
      });
      expect(rest().call(detecting.carrierCallId!).create).toMatchObject({
        machine_detection: 'true',
        machine_detection_url: statusUrl(detecting.id),
        machine_detection_method: 'POST',
      });
      const plain = await createOutboundCall(world.org, {
        agentId: agents.noDetection,
        to: CALLER,
        from: c.number,
      });
      expect(rest().call(plain.carrierCallId!).create).not.toHaveProperty('machine_detection');
      expect(rest().call(plain.carrierCallId!).create).not.toHaveProperty('machine_detection_url');
      // Neither is answered; they must not hold the organization's lines for the tests after.
      for (const placed of [detecting, plain]) await cancelCall(world.org, placed.id);
    });

    it('hangs up on the machine at the verdict, during its greeting, and ends as voicemail', async () => {
      const { callId, requestUuid, line } = await answeredCall(agents.hangUp);
      const { machine, callback, verdictAtMs } = await rest().answerByMachine(requestUuid, line);
      expect(callback.responseStatus).toBe(204);
      await waitForVoicemail(callId);
      expect(line.closedBy).toBe('server');
      // The verdict came while the greeting played: the machine never got to its beep.
      expect(machine.hungUpDuringGreeting).toBe(true);
      // And the call ended at the verdict, not merely before the beep: the agent, still greeting the
      // machine until then, was cut off within moments of it (the greeting had over a second to go).
      expect(line.closedAtMs! - verdictAtMs).toBeLessThan(500);
      // Closing the stream hangs up (keepCallAlive, nothing after it): no REST hang-up.
      const callUuid = rest().call(requestUuid).callUuid!;
      expect(rest().requests.some((r) => r.method === 'DELETE' && r.path.includes(callUuid))).toBe(false);
      expect((await rest().hangup(requestUuid, 'completed')).responseStatus).toBe(204);
      expect(await rowOf(callId)).toMatchObject({ status: 'voicemail', answeredBy: 'machine' });
    });

    it('leaves the rendered message after the greeting when the verdict comes mid-greeting, then hangs up', async () => {
      const { callId, requestUuid, line } = await answeredCall(agents.leaveMessage);
      // A machine's greeting: speech, then its beep. The carrier's verdict comes while the machine is
      // still talking, and says nothing of the greeting's end: Parley hears the end on the line.
      const speech = loadFixture('opening-hours').samples;
      const beep = loadFixture('tone-1khz').samples;
      const greeting = new Int16Array(speech.length + beep.length);
      greeting.set(speech);
      greeting.set(beep, speech.length);
      const verdictAfterMs = 1_500;
      expect(loadFixture('opening-hours').durationMs).toBeGreaterThan(verdictAfterMs + 1_000);
      const { machine } = await rest().answerByMachine(requestUuid, line, { greeting, verdictAfterMs });
      await waitForVoicemail(callId);
      expect(line.closedBy).toBe('server');
      const said = world.sims.tts.utterances
        .map((u) => u.text)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      expect(said.endsWith(RENDERED)).toBe(true);
      // The machine recorded the whole message after its beep (none of it lost over the greeting), and
      // nothing else of note.
      const spokenMs = RENDERED.length * TTS_SIM_MS_PER_CHARACTER;
      const recordedMs = machine.recordedSpeechMs();
      expect(recordedMs).toBeGreaterThan(spokenMs - 300);
      expect(recordedMs).toBeLessThan(spokenMs + 600);
      expect(await rowOf(callId)).toMatchObject({ carrierReason: 'MachineDetection Machine=true' });
    });

    it('carries on as usual when a human answers', async () => {
      const { callId, requestUuid, line } = await answeredCall(agents.leaveMessage);
      expect((await rest().machineDetected(requestUuid, false)).responseStatus).toBe(204);
      await agentTurn(line, 0);
      expect(line.closedBy).toBe(null);
      await line.hangUp();
      await rest().hangup(requestUuid, 'completed');
      await vi.waitFor(
        async () =>
          expect(await rowOf(callId)).toMatchObject({
            status: 'completed',
            endReason: 'caller_hangup',
            answeredBy: 'human',
          }),
        { timeout: 10_000, interval: 50 },
      );
    });
  });

  it('refuses an answer or a callback with a forged signature, and connects nothing', async () => {
    const placed = await createOutboundCall(world.org, {
      agentId: world.agentId,
      to: CALLER,
      from: c.number,
    });
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
    const placed = await createOutboundCall(world.org, {
      agentId: world.agentId,
      to: CALLER,
      from: c.number,
    });
    const requestUuid = placed.carrierCallId!;
    await rest().ring(requestUuid);
    await rest().hangup(requestUuid, 'cancel', 'ORIGINATOR_CANCEL');
    const { xml } = await rest().answer(requestUuid);
    expect(parsePlivoXml(xml).children.map((verb) => verb.name)).toEqual(['Hangup']);
  });

  it('is canceled at the carrier when canceled through the API while it rings', async () => {
    const placed = await createOutboundCall(world.org, {
      agentId: world.agentId,
      to: CALLER,
      from: c.number,
    });
    const requestUuid = placed.carrierCallId!;
    await rest().ring(requestUuid);
    expect(await cancelCall(world.org, placed.id)).toMatchObject({ status: 'canceled' });
    expect(rest().call(requestUuid).status).toBe('cancel');
  });

  for (const [status, cause, expected] of [
    ['busy', 'USER_BUSY', 'busy'],
    ['no-answer', 'NO_ANSWER', 'no_answer'],
    ['failed', 'UNALLOCATED_NUMBER', 'failed'],
  ] as const) {
    it(`ends as ${expected} when the carrier reports ${status}, keeping its reason`, async () => {
      const placed = await createOutboundCall(world.org, {
        agentId: world.agentId,
        to: CALLER,
        from: c.number,
      });
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
