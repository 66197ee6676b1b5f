// The pre-call context hook on a phone call through the Twilio simulator: the customer's server is told
// who is calling which agent, its answer fills the variables of the greeting the caller hears, and a
// server that does not answer in time leaves the declared defaults and never holds the call. And on a
// simulated call (what `parley call simulate` starts), which is how a user tries an agent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, callEvents, eq } from '@parley/db';
import { beginSimulatedCall, createPhoneNumber } from '@parley/services';
import {
  placeTwilioInboundCall,
  startCartesiaSimulator,
  startLlmSimulator,
  startSttSimulator,
  startTwilioCaller,
  type TwilioCaller,
} from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { simulatedMediaPath, simulationRoutes } from '../src/telephony/simulation-routes.js';
import { endedCallTurns, startInboundCallWorld, type InboundCallWorld } from './inbound-call-world.js';

const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const CALLER = '+15557654321';
const FIRST_MESSAGE = 'Hello {{customer_name}}, calling about order {{order.id}}';
const VARIABLES = [
  { name: 'customer_name', default: 'there' },
  { name: 'order.id', default: 'unknown' },
];

interface ContextRequest {
  headers: IncomingMessage['headers'];
  body: Record<string, any>;
}

// The customer's server: what it was asked, and how it answers (set by each test).
let contextServer: Server;
let contextUrl: string;
let answer: (res: ServerResponse) => void;
let asked: ContextRequest[] = [];

let world: InboundCallWorld;
let twilioCredential: string;

beforeAll(async () => {
  contextServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      asked.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => contextServer.listen(0, '127.0.0.1', resolve));
  contextUrl = `http://127.0.0.1:${(contextServer.address() as AddressInfo).port}/context`;
  // 127.0.0.1 is refused unless the operator allows it: the allow-list is what lets a local server in.
  world = await startInboundCallWorld(
    async (app, env) => {
      await registerTelephony(app, env);
      await simulationRoutes(app, { ...env, instanceSecret: 'test instance secret, long enough' });
    },
    { allowedHosts: ['127.0.0.1'] },
  );
  twilioCredential = await world.credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
});

afterAll(async () => {
  await world?.close();
  contextServer?.closeAllConnections();
  await new Promise((resolve) => contextServer?.close(resolve));
});

/** A published agent with the templated greeting and a hook, on its own number. */
async function agentOnNumber(number: string, timeoutMs: number): Promise<string> {
  const agentId = await world.publishedAgent({
    firstMessage: FIRST_MESSAGE,
    variables: VARIABLES,
    preCallContext: { url: contextUrl, headers: { 'X-Tenant': 'acme' }, timeoutMs },
  });
  await createPhoneNumber(world.org, {
    carrier: 'twilio',
    number,
    credentialId: twilioCredential,
    inboundAgentId: agentId,
  });
  return agentId;
}

/** Calls `number`, waits for the agent's first words to reach the caller, hangs up; the transcript. */
async function greetingHeard(number: string): Promise<{ callId: string; turns: [string, string][] }> {
  const placed = await placeTwilioInboundCall({
    voiceUrl: `${world.deps.publicUrl}/webhooks/twilio/inbound`,
    authToken: AUTH_TOKEN,
    from: CALLER,
    to: number,
  });
  if (placed.kind !== 'stream') throw new Error(`expected a media stream, got: ${placed.twiml}`);
  return heardBy(placed.caller, placed.parameters['callId']!);
}

async function heardBy(
  caller: TwilioCaller,
  callId: string,
): Promise<{ callId: string; turns: [string, string][] }> {
  await caller.waitFor(() => caller.firstNonSilentOutboundAfter(0), 15_000);
  // The whole greeting is heard: quiet for a while after the agent's last sound.
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= 500 ? last : null;
  }, 15_000);
  await caller.hangUp();
  return { callId, turns: await endedCallTurns(world, callId, { endReason: 'caller_hangup' }) };
}

async function eventsOf(callId: string) {
  return world.database.db
    .select()
    .from(callEvents)
    .where(eq(callEvents.callId, callId))
    .orderBy(asc(callEvents.seq));
}

describe('pre-call context', () => {
  it('tells the customer’s server about the call and greets the caller with what it answers', async () => {
    const number = '+15550002001';
    const agentId = await agentOnNumber(number, 2000);
    asked = [];
    answer = (res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ customer_name: 'Ada Lovelace', order: { id: 'A-981' }, notes: ['x'] }));
    };

    const { callId, turns } = await greetingHeard(number);

    expect(turns[0]).toEqual(['agent', 'Hello Ada Lovelace, calling about order A-981']);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.headers['x-tenant']).toBe('acme');
    expect(asked[0]!.body).toEqual({
      call: { id: callId, direction: 'inbound', from: CALLER, to: number, agentId, agentVersion: 1 },
      variables: {},
    });
    // On the call's timeline: that it was asked, how long it took and which variables came back.
    const [first] = await eventsOf(callId);
    expect(first).toMatchObject({
      seq: 0,
      type: 'pre_call_context',
      data: { ok: true, latencyMs: expect.any(Number), variables: ['customer_name', 'order.id'] },
    });
    expect(JSON.stringify(first!.data)).not.toContain('Ada');
  });

  it('greets with the declared defaults when the server does not answer in time, without holding the call', async () => {
    const number = '+15550002002';
    await agentOnNumber(number, 300);
    asked = [];
    answer = () => undefined; // holds the response open

    const { callId, turns } = await greetingHeard(number);

    expect(asked).toHaveLength(1);
    expect(turns[0]).toEqual(['agent', 'Hello there, calling about order unknown']);
    const [first] = await eventsOf(callId);
    expect(first).toMatchObject({
      type: 'pre_call_context',
      data: { ok: false, code: 'timeout', variables: [] },
    });
    expect((first!.data as { latencyMs: number }).latencyMs).toBeLessThan(2000);
  });

  it('fills the greeting of a simulated call, as `parley call simulate` runs it', async () => {
    // A simulation runs on simulators sharing one key, never on the agent's providers.
    const apiKey = 'a-throwaway-simulator-key';
    const sims = {
      stt: await startSttSimulator({ apiKey }),
      llm: await startLlmSimulator({ apiKey }),
      tts: await startCartesiaSimulator({ apiKey }),
    };
    try {
      const agentId = await agentOnNumber('+15550002003', 2000);
      asked = [];
      answer = (res) =>
        res.end(JSON.stringify({ variables: { customer_name: 'Grace', order: { id: 'B-7' } } }));
      const operator = { ...world.deps, actor: { type: 'system' as const, label: 'test' }, clientIp: null };
      const started = await beginSimulatedCall(operator, {
        agentId,
        carrier: 'twilio',
        simulation: {
          apiKey,
          stt: { deepgram: sims.stt.url },
          llm: sims.llm.url,
          tts: { cartesia: sims.tts.baseUrl },
        },
        problemWith: () => null,
      });
      const caller = await startTwilioCaller({
        url: `${world.deps.publicUrl.replace(/^http/, 'ws')}${simulatedMediaPath('twilio', started.callId)}`,
        customParameters: { callId: started.callId, token: started.mediaToken },
      });

      const { turns } = await heardBy(caller, started.callId);

      expect(turns[0]).toEqual(['agent', 'Hello Grace, calling about order B-7']);
      expect(asked).toHaveLength(1);
      expect(asked[0]!.body['call']).toMatchObject({ id: started.callId, agentId });
      expect(sims.tts.utterances.map((u) => u.text).join('')).toContain('Hello Grace');
    } finally {
      await Promise.all([sims.stt.close(), sims.llm.close(), sims.tts.close()]);
    }
  });
});
