// The agent acting on the phone call itself, through the Twilio simulator: it hangs up after its
// goodbye has been heard, and it transfers the caller to a named destination after announcing it.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, eq, transcriptTurns } from '@parley/db';
import { createOutboundCall, createPhoneNumber } from '@parley/services';
import {
  loadFixture,
  parseTwiml,
  signTwilioRequest,
  startTwilioCaller,
  startTwilioRestSimulator,
  type TwilioCaller,
  type TwilioRestSimulator,
  type TwimlElement,
} from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { GREETING, startInboundCallWorld, type InboundCallWorld } from './inbound-call-world.js';

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

afterAll(async () => {
  await world?.close();
  await rest?.close();
});

/** Places an outbound call from the agent, answers it and connects the callee's media socket. */
async function answeredCall(agentId: string): Promise<{ callId: string; sid: string; callee: TwilioCaller }> {
  const placed = await createOutboundCall(world.org, { agentId, to: CUSTOMER, from: NUMBER });
  const sid = placed.carrierCallId!;
  await rest.sendStatus(sid, 'ringing');
  const { twiml } = await rest.answer(sid);
  await rest.sendStatus(sid, 'in-progress');
  const stream = parseTwiml(twiml).children.find((e) => e.name === 'Connect')?.children[0];
  const parameter = (name: string) =>
    stream?.children.find((e) => e.attributes['name'] === name)?.attributes['value'] ?? '';
  const streamUrl = stream?.attributes['url'] ?? '';
  const callee = await startTwilioCaller({
    url: streamUrl,
    callSid: sid,
    customParameters: { callId: parameter('callId'), token: parameter('token') },
    headers: { 'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, streamUrl) },
  });
  return { callId: placed.id, sid, callee };
}

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

async function agentTexts(callId: string): Promise<string[]> {
  const turns = await world.database.db
    .select()
    .from(transcriptTurns)
    .where(eq(transcriptTurns.callId, callId))
    .orderBy(asc(transcriptTurns.seq));
  return turns.filter((t) => t.role === 'agent').map((t) => t.text);
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
    expect(await agentTexts(callId)).toEqual([GREETING, GOODBYE]);
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
    expect(await agentTexts(callId)).toEqual([GREETING, `Of course. ${ANNOUNCEMENT}`]);
    await callee.hangUp();
  });

  it('is not offered when the agent has no destinations, and keypad tones are not offered on Twilio', async () => {
    const agentId = await world.publishedAgent({ callActions: { sendDtmf: true } });
    const { callId, callee } = await answeredCall(agentId);
    await agentTurn(callee, 0);
    world.sims.stt.queueUtterance('what time do you open');
    world.sims.llm.script({ text: 'At nine.' });
    await callee.play('opening-hours');
    await vi.waitFor(async () => expect(await agentTexts(callId)).toEqual([GREETING, 'At nine.']), {
      timeout: 15_000,
      interval: 50,
    });
    // Twilio can only play tones by replacing the call's TwiML, which would end the stream.
    expect(toolsOffered()).toEqual(['end_call']);
    await callee.hangUp();
  });
});
