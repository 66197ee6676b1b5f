// The agent acting on the phone call itself, through the Twilio simulator: it hangs up after its
// goodbye has been heard, it transfers the caller to a named destination after announcing it, and it
// presses keys (Twilio replaces the call's TwiML to play them and reconnects the media stream).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPhoneNumber } from '@parley/services';
import {
  loadFixture,
  parseTwiml,
  startTwilioRestSimulator,
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
import { answeredTwilioCall, connectTwilioStream, twilioStreamOf } from './twilio-outbound-call.js';

const ACCOUNT_SID = `AC${'1'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-actions-0123456789';
const NUMBER = '+15550002222';
const CUSTOMER = '+15557650000';
const SALES = '+15550009999';
const GOODBYE = 'Thanks for calling, goodbye!';
const ANNOUNCEMENT = 'Connecting you to our sales team now.';

let world: InboundCallWorld;
let rest: TwilioRestSimulator;

beforeAll(async () => {
  rest = await startTwilioRestSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env), {
    carrierApiUrls: { twilio: rest.baseUrl },
  });
  const credentialId = await world.credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  await createPhoneNumber(world.org, { carrier: 'twilio', number: NUMBER, credentialId });
});

// A simulator's own failure (a media stream it could not end, say) fails the test it happened in.
afterEach(() => rest?.errors.throwIfAny());

afterAll(async () => {
  await world?.close();
  await rest?.close();
});

const answeredCall = (agentId: string) =>
  answeredTwilioCall(world, rest, { agentId, to: CUSTOMER, from: NUMBER, authToken: AUTH_TOKEN });

/** Resolves once the agent has spoken after `afterMs` and then been quiet for half a second. */
async function agentTurn(caller: TwilioCaller, afterMs: number): Promise<void> {
  await caller.waitFor(() => caller.firstNonSilentOutboundAfter(afterMs), 15_000);
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= 500 ? last : null;
  }, 15_000);
}

function findElement(root: TwimlElement, name: string): TwimlElement | null {
  if (root.name === name) return root;
  for (const child of root.children) {
    const found = findElement(child, name);
    if (found) return found;
  }
  return null;
}

/** The names of the functions the model was offered in its last request. */
function toolsOffered(): string[] {
  const body = world.sims.llm.requests.at(-1)!.body;
  return (body.tools ?? []).map((tool) => (tool as { function: { name: string } }).function.name);
}

describe('the agent ends the call', () => {
  it('hangs up an outbound call once its goodbye has been heard, and the call is completed', async () => {
    const agentId = await world.publishedAgent({});
    const { callId, callee } = await answeredCall(agentId);
    await agentTurn(callee, 0);
    world.sims.stt.queueUtterance(loadFixture('opening-hours').transcript!);
    world.sims.llm.script(
      { toolCalls: [{ name: 'end_call', arguments: '{"reason":"the caller is done"}' }] },
      { text: GOODBYE },
    );
    const { endedAtMs } = await callee.play('opening-hours');

    // The agent's side closes the media stream, after the goodbye played out to the end.
    await callee.waitFor(() => callee.closedBy === 'server', 15_000);
    const goodbyeStarted = callee.firstNonSilentOutboundAfter(endedAtMs);
    expect(goodbyeStarted).not.toBeNull();
    expect(callee.closedAtMs! - goodbyeStarted!).toBeGreaterThan(1000);
    expect(toolsOffered()).toContain('end_call');
    await vi.waitFor(
      async () =>
        expect(await world.callRow(callId)).toMatchObject({ status: 'completed', endReason: 'agent_hangup' }),
      { timeout: 10_000, interval: 50 },
    );
    expect(await agentTexts(world, callId)).toEqual([GREETING, GOODBYE]);
  });
});

describe('the agent transfers the call', () => {
  it('announces the transfer as written, then hands the caller to the destination', async () => {
    const agentId = await world.publishedAgent({
      callActions: {
        transferDestinations: [
          { name: 'sales', number: SALES, description: 'New orders and quotes.', message: ANNOUNCEMENT },
        ],
      },
    });
    const { callId, sid, callee } = await answeredCall(agentId);
    await agentTurn(callee, 0);
    const requestsBefore = world.sims.llm.requests.length;
    world.sims.stt.queueUtterance('I would like to speak to sales');
    world.sims.llm.script({
      text: 'Of course.',
      toolCalls: [{ name: 'transfer_call', arguments: '{"destination":"sales"}' }],
    });
    await callee.play('opening-hours');

    // Twilio is told to dial the destination: the caller leaves the agent's stream for sales.
    await vi.waitFor(() => expect(rest.call(sid).redirects).toHaveLength(1), {
      timeout: 15_000,
      interval: 50,
    });
    const redirect = rest.call(sid).redirects[0]!;
    const dial = 'twiml' in redirect ? findElement(parseTwiml(redirect.twiml), 'Dial') : null;
    expect(dial?.children.map((e) => [e.name, e.text])).toEqual([['Number', SALES]]);
    const offered = world.sims.llm.requests.at(-1)!.body.tools as {
      function: { name: string; parameters: unknown };
    }[];
    expect(offered.map((tool) => tool.function.name)).toEqual(['end_call', 'transfer_call']);
    expect(offered[1]!.function.parameters).toMatchObject({
      properties: { destination: { enum: ['sales'] } },
    });
    // The model was asked once: the announcement is the destination's, said as written.
    expect(world.sims.llm.requests.length - requestsBefore).toBe(1);
    await vi.waitFor(
      async () =>
        expect(await world.callRow(callId)).toMatchObject({ status: 'completed', endReason: 'transferred' }),
      { timeout: 10_000, interval: 50 },
    );
    expect(await agentTexts(world, callId)).toEqual([GREETING, `Of course. ${ANNOUNCEMENT}`]);
    await callee.hangUp();
  });

  it('is not offered when the agent has no destinations', async () => {
    const agentId = await world.publishedAgent({ callActions: { sendDtmf: true } });
    const { callId, callee } = await answeredCall(agentId);
    await agentTurn(callee, 0);
    world.sims.stt.queueUtterance('what time do you open');
    world.sims.llm.script({ text: 'At nine.' });
    await callee.play('opening-hours');
    await vi.waitFor(async () => expect(await agentTexts(world, callId)).toEqual([GREETING, 'At nine.']), {
      timeout: 15_000,
      interval: 50,
    });
    expect(toolsOffered()).toEqual(['end_call', 'send_dtmf']);
    await callee.hangUp();
  });
});

describe('the agent presses keys on a Twilio call', () => {
  it('plays the tones, and the conversation goes on over the stream Twilio reconnects', async () => {
    const agentId = await world.publishedAgent({ callActions: { sendDtmf: true } });
    const { callId, sid, callee } = await answeredCall(agentId);
    rest.attachStream(sid, callee);
    await agentTurn(callee, 0);

    // An automated menu answered: the agent presses 1, 2 and #.
    world.sims.stt.queueUtterance('press one for sales then two then hash');
    world.sims.llm.script(
      { toolCalls: [{ name: 'send_dtmf', arguments: '{"digits":"12#"}' }] },
      { text: 'Waiting for the menu.' },
    );
    await callee.play('opening-hours');

    // Twilio is told to play the digits, then to connect a new stream of the same call.
    await vi.waitFor(() => expect(rest.call(sid).redirects).toHaveLength(1), {
      timeout: 15_000,
      interval: 50,
    });
    const redirect = rest.call(sid).redirects[0]!;
    const twiml = 'twiml' in redirect ? redirect.twiml : '';
    const verbs = parseTwiml(twiml).children;
    expect(verbs.map((verb) => [verb.name, verb.attributes['digits']])).toEqual([
      ['Play', '12#'],
      ['Connect', undefined],
    ]);
    const resumed = twilioStreamOf(twiml);
    expect(resumed.url).toBe(`${world.deps.publicUrl.replace(/^http/, 'ws')}/media/twilio/${callId}`);
    expect(resumed.parameters).toEqual({ callId, token: expect.any(String) });

    // Replacing the TwiML ended the old stream; the call is still in progress, not hung up.
    await callee.waitFor(() => callee.closedAtMs !== null, 15_000);
    expect(await world.callRow(callId)).toMatchObject({ status: 'in_progress', endedAt: null });
    // What the agent said while the tones played was not heard, and does not hold the call up.
    await vi.waitFor(
      async () => expect(await agentTexts(world, callId)).toEqual([GREETING, 'Waiting for the menu.']),
      { timeout: 15_000, interval: 50 },
    );

    // A forged token is refused and the call carries on.
    const forged = await connectTwilioStream(
      { ...resumed, parameters: { ...resumed.parameters, token: 'forged' } },
      sid,
      AUTH_TOKEN,
    );
    await forged.waitFor(() => forged.closedBy === 'server', 5_000);
    // The tones are over: Twilio connects the new stream, and the agent answers on it.
    const next = await connectTwilioStream(resumed, sid, AUTH_TOKEN);
    // The token was single use: the same stream replayed is refused.
    const replayed = await connectTwilioStream(resumed, sid, AUTH_TOKEN);
    await replayed.waitFor(() => replayed.closedBy === 'server', 5_000);
    expect(next.closedBy).toBeNull();

    world.sims.stt.queueUtterance('you are through to sales');
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await next.play('opening-hours');
    await agentTurn(next, endedAtMs);
    await vi.waitFor(
      async () => expect(await agentTexts(world, callId)).toEqual([GREETING, 'Waiting for the menu.', REPLY]),
      { timeout: 10_000, interval: 50 },
    );
    expect(forged.agentFramesReceived + replayed.agentFramesReceived).toBe(0);

    await next.hangUp();
    await vi.waitFor(
      async () =>
        expect(await world.callRow(callId)).toMatchObject({
          status: 'completed',
          endReason: 'caller_hangup',
          mediaTokenHash: null,
        }),
      { timeout: 10_000, interval: 50 },
    );
  });

  it('ends at once as the caller hanging up when the caller hangs up while the tones play', async () => {
    const agentId = await world.publishedAgent({ callActions: { sendDtmf: true } });
    const { callId, sid, callee } = await answeredCall(agentId);
    rest.attachStream(sid, callee);
    await agentTurn(callee, 0);
    world.sims.stt.queueUtterance('press nine');
    world.sims.llm.script(
      { toolCalls: [{ name: 'send_dtmf', arguments: '{"digits":"9"}' }] },
      { text: 'Pressing nine.' },
    );
    await callee.play('opening-hours');
    await vi.waitFor(() => expect(rest.call(sid).redirects).toHaveLength(1), {
      timeout: 15_000,
      interval: 50,
    });
    await callee.waitFor(() => callee.closedAtMs !== null, 15_000);
    expect(await world.callRow(callId)).toMatchObject({ status: 'in_progress' });

    // No new stream ever comes: the caller hung up during the tones, and Twilio says the call is over.
    await rest.sendStatus(sid, 'completed');
    await vi.waitFor(
      async () =>
        expect(await world.callRow(callId)).toMatchObject({
          status: 'completed',
          endReason: 'caller_hangup',
        }),
      { timeout: 10_000, interval: 50 },
    );
    // (Without Twilio's word it would have waited 15 s for the stream, then failed as stream_not_resumed.)
  });
});
