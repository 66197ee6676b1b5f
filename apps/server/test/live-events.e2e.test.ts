// Live events of a phone call, as a dashboard sees them: an SSE client (a real HTTP connection to the
// listening server) follows a Twilio call through the carrier, STT, LLM and TTS simulators, drops its
// connection mid-call, reconnects with Last-Event-ID and gets every event it missed exactly once. Run
// in one process (the embedded default) and with the runtime and the API on two Redis-backed logs, as
// two processes have them.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiKey, createPhoneNumber } from '@parley/services';
import {
  loadFixture,
  placeTwilioInboundCall,
  startTwilioRestSimulator,
  type TwilioCaller,
  type TwilioRestSimulator,
} from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { RedisLiveEventLog } from '../src/live/redis-live-event-log.js';
import type { LiveEventLog } from '../src/live/live-event-log.js';
import { GREETING, REPLY, startInboundCallWorld, type InboundCallWorld } from './inbound-call-world.js';
import { openSse, statusIs, type SseMessage } from './sse-client.js';

const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';
const NUMBER = '+15550001111';
const CALLER = '+15557654321';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const REDIS_URL = 'redis://127.0.0.1:6379';

/** Resolves once the agent has spoken after `afterMs` and then been quiet for `quietMs`. */
async function agentTurn(caller: TwilioCaller, afterMs: number, quietMs = 500): Promise<number> {
  const started = await caller.waitFor(() => caller.firstNonSilentOutboundAfter(afterMs), 15_000);
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= quietMs ? last : null;
  }, 15_000);
  return started;
}

const ended = statusIs('completed');

const modes: [
  string,
  () => Promise<{ logs?: { runtime: LiveEventLog; api: LiveEventLog }; close(): Promise<void> }>,
][] = [
  ['in one process', async () => ({ close: async () => {} })],
  [
    'with the call on one process and the client on another (Redis)',
    async () => {
      const logger = pino({ level: 'silent' });
      const keyPrefix = `parley-test-${randomUUID()}`;
      const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
      const [runtimeRedis, apiRedis] = clients as [Redis, Redis];
      const logs = {
        runtime: await RedisLiveEventLog.connect({ redis: runtimeRedis, logger, keyPrefix }),
        api: await RedisLiveEventLog.connect({ redis: apiRedis, logger, keyPrefix }),
      };
      return {
        logs,
        close: async () => {
          const keys = await runtimeRedis.keys(`${keyPrefix}:*`);
          if (keys.length > 0) await runtimeRedis.del(...keys);
          await Promise.all(clients.map((client) => client.quit()));
        },
      };
    },
  ],
];

describe.each(modes)('live events of a phone call, %s', (_mode, setUp) => {
  let world: InboundCallWorld;
  let backing: Awaited<ReturnType<typeof setUp>>;
  let apiKey: string;
  let rest: TwilioRestSimulator;

  beforeAll(async () => {
    backing = await setUp();
    rest = await startTwilioRestSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    world = await startInboundCallWorld((app, env) => registerTelephony(app, env), {
      carrierApiUrls: { twilio: rest.baseUrl },
      ...(backing.logs ? { liveEvents: backing.logs } : {}),
    });
    const credentialId = await world.credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    await createPhoneNumber(world.org, {
      carrier: 'twilio',
      number: NUMBER,
      credentialId,
      inboundAgentId: world.agentId,
    });
    apiKey = (await createApiKey(world.org, { name: 'dashboard', scopes: ['calls:write'] })).secret;
  });

  afterAll(async () => {
    await world?.close();
    await rest?.close();
    await backing?.close();
  });

  it('streams an outbound call placed through the API as the carrier reports it: queued, ringing, busy', async () => {
    const auth = { authorization: `Bearer ${apiKey}` };
    const watcher = openSse(`${world.deps.publicUrl}/api/v1/events?types=call.status`, auth);
    await watcher.opened();
    const response = await fetch(`${world.deps.publicUrl}/api/v1/calls`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: world.agentId, to: CALLER, from: NUMBER }),
    });
    expect(response.status).toBe(201);
    const placed = (await response.json()) as { id: string; carrierCallId: string };
    await rest.sendStatus(placed.carrierCallId, 'ringing');
    await rest.sendStatus(placed.carrierCallId, 'busy');
    await watcher.waitFor(statusIs('busy'));
    expect(
      watcher.messages.map((m) => [m.data['callId'], m.data['data']['status'], m.data['data']['endReason']]),
    ).toEqual([
      [placed.id, 'queued', null],
      [placed.id, 'ringing', null],
      [placed.id, 'busy', 'carrier_busy'],
    ]);
    watcher.close();
  });

  it('streams the call in order, and a client that reconnects with Last-Event-ID misses nothing and gets nothing twice', async () => {
    const url = `${world.deps.publicUrl}/api/v1/events`;
    const auth = { authorization: `Bearer ${apiKey}` };
    // One client stays for the whole call; the other drops out mid-call and comes back.
    const watcher = openSse(url, auth);
    const dropping = openSse(url, auth);
    const socket = new WebSocket(`${world.deps.publicUrl.replace('http', 'ws')}/api/v1/events/ws`, {
      headers: auth,
    });
    const overSocket: Record<string, any>[] = [];
    socket.on('message', (data) => overSocket.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    await watcher.opened();
    await dropping.opened();

    const placed = await placeTwilioInboundCall({
      voiceUrl: `${world.deps.publicUrl}/webhooks/twilio/inbound`,
      authToken: AUTH_TOKEN,
      from: CALLER,
      to: NUMBER,
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream, got: ${placed.twiml}`);
    const { caller } = placed;
    const callId = placed.parameters['callId']!;

    await agentTurn(caller, 0);
    await dropping.waitFor((m) => m.event === 'agent.speech.ended');
    dropping.close();
    const lastSeen = dropping.state.lastId!;

    const fixture = loadFixture('opening-hours');
    world.sims.stt.queueUtterance(fixture.transcript!);
    world.sims.llm.script({ text: REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    // The caller's turn happened while the client was away.
    await watcher.waitFor((m) => m.event === 'user.turn');
    const resumed = openSse(url, { ...auth, 'last-event-id': lastSeen });
    await resumed.opened();
    await agentTurn(caller, endedAtMs);
    await caller.hangUp();
    await watcher.waitFor(ended);
    await resumed.waitFor(ended);

    // The call, in order, as the watcher saw it.
    const all = watcher.messages;
    expect(all.every((m) => m.data['callId'] === callId && m.id === m.data['id'])).toBe(true);
    const statuses = all.filter((m) => m.event === 'call.status').map((m) => m.data['data']);
    expect(statuses).toEqual([
      { status: 'ringing', previousStatus: null, endReason: null },
      { status: 'in_progress', previousStatus: null, endReason: null },
      { status: 'completed', previousStatus: 'in_progress', endReason: 'caller_hangup' },
    ]);
    const conversation = [
      'call.status',
      'agent.speech.started',
      'agent.speech.ended',
      'speech.started',
      'user.turn',
    ];
    const steps = all.map((m) => m.event).filter((type) => conversation.includes(type));
    expect(dedupe(steps)).toEqual([
      'call.status',
      'agent.speech.started',
      'agent.speech.ended',
      'speech.started',
      'user.turn',
      'agent.speech.started',
      'agent.speech.ended',
      'call.status',
    ]);
    const saidByAgent = all
      .filter((m) => m.event === 'agent.speech.ended')
      .map((m) => m.data['data']['text']);
    expect(saidByAgent).toEqual([GREETING, REPLY]);
    const partials = all.filter((m) => m.event === 'transcript.partial');
    const finals = all.filter((m) => m.event === 'transcript.final').map((m) => m.data['data']['text']);
    expect(partials.length).toBeGreaterThan(0);
    expect(finals.join(' ')).toBe(fixture.transcript);
    const indexOf = (type: string) => all.findIndex((m) => m.event === type);
    expect(indexOf('transcript.partial')).toBeLessThan(indexOf('transcript.final'));
    expect(indexOf('transcript.final')).toBeLessThan(indexOf('user.turn'));

    // Before the drop and after the reconnect: exactly the watcher's events, none missing, none twice.
    const ids = (messages: SseMessage[]) => messages.map((m) => m.id);
    expect([...ids(dropping.messages), ...ids(resumed.messages)]).toEqual(ids(all));
    expect(resumed.messages.some((m) => m.event === 'user.turn')).toBe(true);

    // The WebSocket variant carries the same events.
    await vi.waitFor(
      () =>
        expect(
          overSocket.some((m) => m['type'] === 'call.status' && m['data']['status'] === 'completed'),
        ).toBe(true),
      {
        timeout: 5_000,
        interval: 10,
      },
    );
    expect(overSocket.map((m) => m['id'])).toEqual(ids(all));

    watcher.close();
    resumed.close();
    socket.close();
  });
});

/** Consecutive repeats collapsed (speech.started can come more than once within one caller turn). */
function dedupe(types: string[]): string[] {
  return types.filter((type, i) => type !== types[i - 1]);
}
