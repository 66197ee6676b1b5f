// A supervisor controlling a live Twilio call (the verb behind POST /calls/:id/control, over the
// in-process bus, as in the embedded default): each command changes what the simulated callee hears or
// the call's state — say, inject with an answer, mute and unmute, hang up, transfer, hand off — and is on
// the call's timeline.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, callEvents, eq } from '@parley/db';
import { controlCall, createPhoneNumber, createTool } from '@parley/services';
import type { CallControlBody } from '@parley/contracts';
import {
  loadFixture,
  parseTwiml,
  startTwilioRestSimulator,
  type RecordedLlmRequest,
  type TwilioCaller,
  type TwilioRestSimulator,
  type TwimlElement,
} from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import {
  agentTexts,
  GREETING,
  REPLY,
  startInboundCallWorld,
  type InboundCallWorld,
} from './inbound-call-world.js';
import { answeredTwilioCall } from './twilio-outbound-call.js';

const ACCOUNT_SID = `AC${'3'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-control-0123456789';
const NUMBER = '+15550003333';
const CUSTOMER = '+15557650001';
const SUPERVISOR = '+15550008888';
const FRONT_DESK = '+15550007777';

let world: InboundCallWorld;
let rest: TwilioRestSimulator;
let agentId: string;
// The customer's pre-call context server: it holds each request until the test answers it, which keeps
// a call in its set-up (claimed, in progress, no session yet) for as long as the test needs.
let contextServer: Server;
let contextUrl: string;
const heldContextRequests: ServerResponse[] = [];

beforeAll(async () => {
  contextServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => heldContextRequests.push(res));
  });
  await new Promise<void>((resolve) => contextServer.listen(0, '127.0.0.1', resolve));
  contextUrl = `http://127.0.0.1:${(contextServer.address() as AddressInfo).port}/context`;
  rest = await startTwilioRestSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env), {
    carrierApiUrls: { twilio: rest.baseUrl },
    allowedHosts: ['127.0.0.1'],
  });
  const credentialId = await world.credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  await createPhoneNumber(world.org, { carrier: 'twilio', number: NUMBER, credentialId });
  agentId = await world.publishedAgent({});
});

afterEach(() => rest?.errors.throwIfAny());

afterAll(async () => {
  await world?.close();
  await rest?.close();
  contextServer?.closeAllConnections();
  await new Promise((resolve) => contextServer?.close(resolve));
});

/** An answered call (of `agent`, the suite's own by default) whose greeting has been heard. */
async function callInProgress(
  agent = agentId,
): Promise<{ callId: string; sid: string; callee: TwilioCaller }> {
  const call = await answeredTwilioCall(world, rest, {
    agentId: agent,
    to: CUSTOMER,
    from: NUMBER,
    authToken: AUTH_TOKEN,
  });
  await agentDone(call.callee, 0);
  return call;
}

/** The agent spoke after `afterMs` and has been quiet for half a second since. */
async function agentDone(caller: TwilioCaller, afterMs: number): Promise<number> {
  const started = await caller.waitFor(() => caller.firstNonSilentOutboundAfter(afterMs), 15_000);
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= 500 ? last : null;
  }, 15_000);
  return started;
}

const send = (callId: string, body: CallControlBody) => controlCall(world.org, callId, body);

async function eventsOf(callId: string) {
  return world.database.db
    .select()
    .from(callEvents)
    .where(eq(callEvents.callId, callId))
    .orderBy(asc(callEvents.seq));
}

/** Waits until the call's timeline (as written) has an event matching `predicate`. */
async function timelineHas(
  callId: string,
  predicate: (event: { type: string; data: unknown }) => boolean,
): Promise<void> {
  await vi.waitFor(async () => expect((await eventsOf(callId)).some(predicate)).toBe(true), {
    timeout: 15_000,
    interval: 50,
  });
}

/** The chat messages of a request to the LLM simulator. */
const messagesOf = (request: RecordedLlmRequest) =>
  (request.body.messages ?? []) as { role: string; content?: string }[];

function findElement(root: TwimlElement, name: string): TwimlElement | null {
  if (root.name === name) return root;
  for (const child of root.children) {
    const found = findElement(child, name);
    if (found) return found;
  }
  return null;
}

describe('say', () => {
  it('the callee hears the text, in the agent’s voice, and the timeline says a supervisor asked', async () => {
    const { callId, callee } = await callInProgress();
    const sentAt = performance.now();
    const words = 'Please hold while I check that for you.';
    await send(callId, { type: 'say', text: words, interrupt: true, hangUpAfter: false });
    await agentDone(callee, sentAt);
    await vi.waitFor(async () => expect(await agentTexts(world, callId)).toEqual([GREETING, words]), {
      timeout: 10_000,
      interval: 50,
    });
    await timelineHas(
      callId,
      (e) => e.type === 'control.say' && (e.data as { chars: number }).chars === words.length,
    );
    await callee.hangUp();
  });
});

describe('a command sent while the call is being set up', () => {
  it('is kept and carried out once the call starts', async () => {
    const hookedAgent = await world.publishedAgent({
      preCallContext: { url: contextUrl, timeoutMs: 10_000 },
    });
    const { callId, callee } = await answeredTwilioCall(world, rest, {
      agentId: hookedAgent,
      to: CUSTOMER,
      from: NUMBER,
      authToken: AUTH_TOKEN,
    });
    // The runtime has claimed the call and waits for the hook: no session yet.
    await vi.waitFor(() => expect(heldContextRequests).toHaveLength(1), { timeout: 10_000, interval: 20 });
    expect(await world.callRow(callId)).toMatchObject({ status: 'in_progress' });
    const words = 'A supervisor is on the line with us today.';
    await send(callId, { type: 'say', text: words, interrupt: false, hangUpAfter: false });
    const hook = heldContextRequests.shift()!;
    hook.setHeader('content-type', 'application/json');
    hook.end('{}');
    await vi.waitFor(async () => expect(await agentTexts(world, callId)).toContain(words), {
      timeout: 15_000,
      interval: 50,
    });
    await timelineHas(callId, (e) => e.type === 'control.say');
    await callee.hangUp();
  });
});

describe('inject', () => {
  it('with respond: the model is asked at once with the instruction, and the callee hears its answer', async () => {
    const { callId, callee } = await callInProgress();
    const before = world.sims.llm.requests.length;
    const instruction = 'Tell the caller their parcel left the warehouse this morning.';
    const answer = 'Good news: your parcel left our warehouse this morning.';
    world.sims.llm.script({ text: answer });
    const sentAt = performance.now();
    await send(callId, { type: 'inject', role: 'system', content: instruction, respond: true });
    const request = await world.sims.llm.waitForRequest(before);
    expect(messagesOf(request).at(-1)).toEqual({ role: 'system', content: instruction });
    await agentDone(callee, sentAt);
    await vi.waitFor(async () => expect(await agentTexts(world, callId)).toEqual([GREETING, answer]), {
      timeout: 10_000,
      interval: 50,
    });
    await callee.hangUp();
  });
});

describe('mute and unmute', () => {
  it('a muted agent says nothing when the callee speaks; unmuted, it answers again', async () => {
    const { callId, callee } = await callInProgress();
    const requestsBefore = world.sims.llm.requests.length;
    await send(callId, { type: 'mute' });
    await timelineHas(callId, (e) => e.type === 'control.mute');
    const question = loadFixture('opening-hours').transcript!;
    world.sims.stt.queueUtterance(question);
    const { endedAtMs } = await callee.play('opening-hours');
    // The agent heard the turn and, muted, chose not to answer it (written as a decision).
    await timelineHas(callId, (e) => e.type === 'user.turn');
    await timelineHas(
      callId,
      (e) => e.type === 'decision' && (e.data as { decision: string }).decision === 'muted',
    );
    expect(callee.firstNonSilentOutboundAfter(endedAtMs)).toBeNull();
    expect(world.sims.llm.requests.length).toBe(requestsBefore);

    await send(callId, { type: 'unmute' });
    await timelineHas(callId, (e) => e.type === 'control.unmute');
    world.sims.stt.queueUtterance('are you there');
    world.sims.llm.script({ text: REPLY });
    const second = await callee.play('opening-hours');
    await agentDone(callee, second.endedAtMs);
    await vi.waitFor(async () => expect(await agentTexts(world, callId)).toEqual([GREETING, REPLY]), {
      timeout: 10_000,
      interval: 50,
    });
    // The turn heard while muted is in the model's context, before the one it answered.
    const users = messagesOf(world.sims.llm.requests.at(-1)!)
      .filter((m) => m.role === 'user')
      .map((m) => m.content);
    expect(users).toEqual([question, 'are you there']);
    await callee.hangUp();
  });
});

describe('hang up', () => {
  it('ends the call at once as the supervisor’s hang-up', async () => {
    const { callId, callee } = await callInProgress();
    await send(callId, { type: 'hang_up' });
    await callee.waitFor(() => callee.closedBy === 'server', 10_000);
    await vi.waitFor(
      async () =>
        expect(await world.callRow(callId)).toMatchObject({
          status: 'completed',
          endReason: 'supervisor_hangup',
        }),
      { timeout: 10_000, interval: 50 },
    );
    const types = (await eventsOf(callId)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['control.hang_up', 'call.ended']);
    // A call that is over takes no more commands.
    await expect(
      send(callId, { type: 'say', text: 'Hello?', interrupt: true, hangUpAfter: false }),
    ).rejects.toMatchObject({ code: 'call_not_live' });
  });
});

describe('transfer', () => {
  it('announces the transfer, then Twilio is told to connect the callee to the number', async () => {
    const { callId, sid, callee } = await callInProgress();
    const message = 'Connecting you to a supervisor now.';
    const sentAt = performance.now();
    await send(callId, { type: 'transfer', to: SUPERVISOR, message });
    await vi.waitFor(() => expect(rest.call(sid).redirects).toHaveLength(1), {
      timeout: 15_000,
      interval: 50,
    });
    // The announcement was heard before the transfer.
    expect(callee.firstNonSilentOutboundAfter(sentAt)).not.toBeNull();
    const redirect = rest.call(sid).redirects[0]!;
    const dial = 'twiml' in redirect ? findElement(parseTwiml(redirect.twiml), 'Dial') : null;
    expect(dial?.children.map((e) => [e.name, e.text])).toEqual([['Number', SUPERVISOR]]);
    await vi.waitFor(
      async () =>
        expect(await world.callRow(callId)).toMatchObject({ status: 'completed', endReason: 'transferred' }),
      { timeout: 10_000, interval: 50 },
    );
    expect(await agentTexts(world, callId)).toEqual([GREETING, message]);
    await timelineHas(
      callId,
      (e) => e.type === 'control.transfer' && (e.data as { status: string }).status === 'announcing',
    );
    await callee.hangUp();
  });
});

describe('hand off', () => {
  it('transfers the callee to the person of the agent’s hand_off tool, after its message', async () => {
    const tool = await createTool(world.org, {
      kind: 'builtin',
      name: 'Front desk',
      functionName: 'hand_off_to_front_desk',
      description: 'Put the caller through to the front desk.',
      builtin: { type: 'hand_off', number: FRONT_DESK, message: 'Putting you through to the front desk.' },
    });
    const handOffAgent = await world.publishedAgent({ tools: [{ toolId: tool.id }] });
    const { callId, sid, callee } = await callInProgress(handOffAgent);
    await send(callId, { type: 'hand_off' });
    await vi.waitFor(() => expect(rest.call(sid).redirects).toHaveLength(1), {
      timeout: 15_000,
      interval: 50,
    });
    const redirect = rest.call(sid).redirects[0]!;
    const dial = 'twiml' in redirect ? findElement(parseTwiml(redirect.twiml), 'Dial') : null;
    expect(dial?.children.map((e) => [e.name, e.text])).toEqual([['Number', FRONT_DESK]]);
    await vi.waitFor(
      async () =>
        expect(await world.callRow(callId)).toMatchObject({ status: 'completed', endReason: 'transferred' }),
      { timeout: 10_000, interval: 50 },
    );
    expect(await agentTexts(world, callId)).toEqual([GREETING, 'Putting you through to the front desk.']);
    await timelineHas(
      callId,
      (e) => e.type === 'control.transfer' && (e.data as { handOff: boolean }).handOff,
    );
    await callee.hangUp();
  });
});
