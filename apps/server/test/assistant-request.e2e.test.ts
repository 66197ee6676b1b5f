// A number's inbound assistant request hook on a phone call through the Twilio simulator: the
// customer's server is asked before the call is answered, and may hand the call to another agent with
// its own greeting; a server that fails, stalls or names an agent the organization does not have
// leaves the call to the number's agent, within the hook's timeout.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveEvent } from '@parley/contracts';
import { asc, callEvents, eq } from '@parley/db';
import { CallEventsQuery } from '@parley/contracts';
import { createPhoneNumber, listCallEvents } from '@parley/services';
import { placePlivoInboundCall, placeTwilioInboundCall } from '@parley/testkit';
import { InProcessLiveEventLog } from '../src/live/in-process-live-event-log.js';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import {
  endedCallTurns,
  GREETING,
  startInboundCallWorld,
  type InboundCallWorld,
} from './inbound-call-world.js';

const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const CALLER = '+15557654321';
const PLIVO_AUTH_TOKEN = 'plivo-auth-token-0123456789abcdef';

interface HookRequest {
  headers: IncomingMessage['headers'];
  body: Record<string, any>;
}

// The customer's server: what it was asked, and how it answers (set by each test).
let hookServer: Server;
let hookUrl: string;
let answer: (res: ServerResponse) => void;
let asked: HookRequest[] = [];

let world: InboundCallWorld;
const liveEvents = new InProcessLiveEventLog({ logger: pino({ level: 'silent' }) });
/** The organization's live `call.status` events, as a dashboard following GET /events sees them. */
const statuses: LiveEvent[] = [];
let twilioCredential: string;
let hookCredential: string;

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      asked.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/assistant`;
  // 127.0.0.1 over http is refused unless the operator allows it: the allow-list lets the local server in.
  world = await startInboundCallWorld(registerTelephony, {
    allowedHosts: ['127.0.0.1'],
    liveEvents: { runtime: liveEvents, api: liveEvents },
  });
  await liveEvents.subscribe(
    world.org.organizationId,
    {},
    {
      event: (event) => {
        if (event.type === 'call.status') statuses.push(event);
      },
      reset: () => {},
    },
  );
  twilioCredential = await world.credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  hookCredential = await world.credential('custom', { secret: 'hook-secret-123' });
});

afterAll(async () => {
  await world?.close();
  hookServer?.closeAllConnections();
  await new Promise((resolve) => hookServer?.close(resolve));
});

/** A number answered by the world's agent, with the hook. */
async function numberWithHook(number: string, timeoutMs: number): Promise<string> {
  const created = await createPhoneNumber(world.org, {
    carrier: 'twilio',
    number,
    credentialId: twilioCredential,
    inboundAgentId: world.agentId,
    assistantRequest: {
      url: hookUrl,
      credentialId: hookCredential,
      headers: { 'X-Tenant': 'acme' },
      timeoutMs,
    },
  });
  return created.id;
}

/** Calls `number`, listens to the agent's first words, hangs up; how long the webhook took, and the transcript. */
async function greetingHeard(number: string) {
  const started = performance.now();
  const placed = await placeTwilioInboundCall({
    voiceUrl: `${world.deps.publicUrl}/webhooks/twilio/inbound`,
    authToken: AUTH_TOKEN,
    from: CALLER,
    to: number,
  });
  const answeredInMs = performance.now() - started;
  if (placed.kind !== 'stream') throw new Error(`expected a media stream, got: ${placed.twiml}`);
  const { caller } = placed;
  const callId = placed.parameters['callId']!;
  await caller.waitFor(() => caller.firstNonSilentOutboundAfter(0), 15_000);
  // The whole greeting is heard: quiet for a while after the agent's last sound.
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= 500 ? last : null;
  }, 15_000);
  await caller.hangUp();
  const turns = await endedCallTurns(world, callId, { endReason: 'caller_hangup' });
  return { callId, turns, answeredInMs };
}

async function hookEvent(callId: string) {
  const events = await world.database.db
    .select()
    .from(callEvents)
    .where(eq(callEvents.callId, callId))
    .orderBy(asc(callEvents.seq));
  return events.find((e) => e.type === 'assistant_request');
}

describe('the inbound assistant request hook', () => {
  it('hands the call to the agent the customer’s server names, with its greeting and variables', async () => {
    const number = '+15550003001';
    const phoneNumberId = await numberWithHook(number, 2000);
    const vipAgent = await world.publishedAgent({ name: 'VIP desk', firstMessage: 'This is the VIP desk.' });
    asked = [];
    answer = (res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          agentId: vipAgent,
          variables: { customer: { name: 'Ada' } },
          firstMessage: 'Welcome back {{customer.name}}, you reached the VIP line.',
        }),
      );
    };

    const { callId, turns } = await greetingHeard(number);

    expect(turns[0]).toEqual(['agent', 'Welcome back Ada, you reached the VIP line.']);
    const row = await world.callRow(callId);
    expect(row).toMatchObject({ agentId: vipAgent, agentVersion: 1, variables: { 'customer.name': 'Ada' } });
    // Live, too, the call rang for the hook's agent: a dashboard following that agent sees it.
    await vi.waitFor(() =>
      expect(statuses.find((e) => e.callId === callId && e.data['status'] === 'ringing')?.agentId).toBe(
        vipAgent,
      ),
    );
    // What the customer's server was told, and how it knew the request was Parley's.
    expect(asked).toHaveLength(1);
    expect(asked[0]!.headers).toMatchObject({ 'x-tenant': 'acme', authorization: 'Bearer hook-secret-123' });
    expect(asked[0]!.body).toEqual({
      type: 'assistant_request',
      call: {
        direction: 'inbound',
        carrier: 'twilio',
        carrierCallId: row.carrierCallId,
        from: CALLER,
        to: number,
        phoneNumberId,
      },
      agentId: world.agentId,
    });
    // On the call's timeline, first: how it went, never what was said.
    const event = await hookEvent(callId);
    expect(event).toMatchObject({
      seq: -1,
      data: {
        ok: true,
        latencyMs: expect.any(Number),
        agentId: vipAgent,
        agentChanged: true,
        variables: ['customer.name'],
        overrides: ['firstMessage'],
      },
    });
    expect(JSON.stringify(event!.data)).not.toContain('Ada');
    // The API's timeline pages from it: its cursor (-1) is accepted for the next page.
    const first = await listCallEvents(world.org, callId, CallEventsQuery.parse({ limit: '1' }));
    expect(first.data.map((e) => [e.seq, e.type])).toEqual([[-1, 'assistant_request']]);
    const next = await listCallEvents(
      world.org,
      callId,
      CallEventsQuery.parse({ limit: '1', cursor: first.nextCursor }),
    );
    expect(next.data[0]!.seq).toBeGreaterThan(-1);
  });

  it('leaves the call to the number’s agent when the server answers 500', async () => {
    const number = '+15550003002';
    await numberWithHook(number, 2000);
    asked = [];
    answer = (res) => {
      res.statusCode = 500;
      res.end('{"agentId":"nope"}');
    };

    const { callId, turns } = await greetingHeard(number);

    expect(asked).toHaveLength(1);
    expect(turns[0]).toEqual(['agent', GREETING]);
    expect(await world.callRow(callId)).toMatchObject({ agentId: world.agentId, variables: {} });
    expect((await hookEvent(callId))?.data).toMatchObject({
      ok: false,
      code: 'http_status',
      reason: 'answered HTTP 500',
      agentId: world.agentId,
      agentChanged: false,
    });
  });

  it('answers the carrier with the number’s agent once the timeout passes, while the server holds its answer', async () => {
    const number = '+15550003003';
    await numberWithHook(number, 300);
    asked = [];
    answer = () => undefined; // holds the response open

    const { callId, turns, answeredInMs } = await greetingHeard(number);

    expect(asked).toHaveLength(1);
    expect(answeredInMs).toBeGreaterThanOrEqual(290);
    expect(answeredInMs).toBeLessThan(2000);
    expect(turns[0]).toEqual(['agent', GREETING]);
    const data = (await hookEvent(callId))?.data as { code: string; latencyMs: number };
    expect(data).toMatchObject({ ok: false, code: 'timeout', agentId: world.agentId });
    expect(data.latencyMs).toBeLessThan(1000);
  });

  it('ignores an answer naming an agent the organization does not have', async () => {
    const number = '+15550003004';
    await numberWithHook(number, 2000);
    asked = [];
    answer = (res) =>
      res.end(
        JSON.stringify({
          agentId: '6f1c2d3e-0000-4000-8000-00000000beef',
          firstMessage: 'You should not hear this.',
        }),
      );

    const { callId, turns } = await greetingHeard(number);

    expect(turns[0]).toEqual(['agent', GREETING]);
    expect(await world.callRow(callId)).toMatchObject({ agentId: world.agentId, metadata: {} });
    expect((await hookEvent(callId))?.data).toMatchObject({ ok: false, code: 'unknown_agent' });
  });

  it('is asked the same way on another carrier’s inbound webhook (Plivo)', async () => {
    const number = '+15550003005';
    const plivoCredential = await world.credential('plivo', {
      authId: 'MAPLIVO0001',
      authToken: PLIVO_AUTH_TOKEN,
    });
    await createPhoneNumber(world.org, {
      carrier: 'plivo',
      number,
      credentialId: plivoCredential,
      inboundAgentId: world.agentId,
      assistantRequest: { url: hookUrl, headers: {}, timeoutMs: 2000 },
    });
    const vipAgent = await world.publishedAgent({ name: 'VIP desk', firstMessage: 'This is the VIP desk.' });
    asked = [];
    answer = (res) => res.end(JSON.stringify({ agentId: vipAgent }));

    const placed = await placePlivoInboundCall({
      answerUrl: `${world.deps.publicUrl}/webhooks/plivo/inbound`,
      authToken: PLIVO_AUTH_TOKEN,
      from: CALLER.replace(/^\+/, ''),
      to: number.replace(/^\+/, ''),
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream, got: ${placed.xml}`);
    const callId = placed.streamUrl.split('/').at(-1)!;
    const { caller } = placed;
    // The greeting is heard to its end: quiet for a while after the agent's last sound.
    await caller.waitFor(() => caller.nonSilentFrameTimes.length > 0, 15_000);
    await caller.waitFor(() => {
      const last = caller.nonSilentFrameTimes.at(-1);
      return last !== undefined && caller.bufferedOutboundMs === 0 && performance.now() - last >= 500;
    }, 15_000);
    await caller.hangUp();
    const turns = await endedCallTurns(world, callId, { endReason: 'caller_hangup' });

    expect(asked).toHaveLength(1);
    expect(asked[0]!.body.call).toMatchObject({ carrier: 'plivo', from: CALLER, to: number });
    expect(turns[0]).toEqual(['agent', 'This is the VIP desk.']);
    expect(await world.callRow(callId)).toMatchObject({ agentId: vipAgent });
  });
});
