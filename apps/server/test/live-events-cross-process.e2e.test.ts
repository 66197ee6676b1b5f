// Live events at scale: two real `parley serve` processes share PostgreSQL and Redis — A serves the API
// only, B carries calls. A Twilio call lands on B while a dashboard follows GET /api/v1/events on A; the
// dashboard drops out mid-call, reconnects to A with Last-Event-ID, and has every event exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '@parley/db';
import { createThrowawayPostgres } from '@parley/db/testing';
import {
  createAgent,
  createApiKey,
  createCredential,
  createPhoneNumber,
  createUserAsOperator,
  operatorOrgContext,
  publishAgent,
  SecretBox,
  type ServiceContext,
} from '@parley/services';
import {
  constant,
  placeTwilioInboundCall,
  startCartesiaSimulator,
  startLlmSimulator,
  startSttSimulator,
  type TwilioCaller,
} from '@parley/testkit';
import { assertBuilt, startServer, tempDir, type RunningServer } from './server-process.js';
import { openSse, statusIs } from './sse-client.js';

const SECRET = 'a secret key for the live events test, long enough';
const AUTH_TOKEN = 'twilio-auth-token-for-the-live-events-test';
const NUMBER = '+15550005555';
const GREETING = 'Hello, thanks for calling.';
const REDIS_URL = process.env['PARLEY_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let postgres: { url: string; drop: () => Promise<void> };
let database: DatabaseHandle;
let dirs: ReturnType<typeof tempDir>[] = [];
let apiProcess: RunningServer | null = null;
let runtimeProcess: RunningServer | null = null;
let apiKey: string;
let sims: {
  stt: Awaited<ReturnType<typeof startSttSimulator>>;
  llm: Awaited<ReturnType<typeof startLlmSimulator>>;
  tts: Awaited<ReturnType<typeof startCartesiaSimulator>>;
};

const serverEnv = (role: 'api' | 'runtime'): Record<string, string> => ({
  DATABASE_URL: postgres.url,
  REDIS_URL,
  PARLEY_ROLE: role,
  PARLEY_SECRET_KEY: SECRET,
  PARLEY_PROVIDER_URLS: `deepgram=${sims.stt.url},openai=${sims.llm.url},cartesia=${sims.tts.baseUrl}`,
  LOG_LEVEL: 'info',
});

beforeAll(async () => {
  assertBuilt();
  postgres = await createThrowawayPostgres();
  dirs = [tempDir(), tempDir()];
  sims = {
    stt: await startSttSimulator({ apiKey: 'dg-key', finalLatencyMs: 20 }),
    llm: await startLlmSimulator({
      apiKey: 'llm-key',
      firstTokenLatency: constant(30),
      tokensPerSecond: 200,
    }),
    tts: await startCartesiaSimulator({ apiKey: 'tts-key', firstByteLatencyMs: 20 }),
  };
  // One after the other: the first migrates the database.
  apiProcess = await startServer(dirs[0]!.dir, serverEnv('api'));
  runtimeProcess = await startServer(dirs[1]!.dir, serverEnv('runtime'));
  database = await openDatabase({ url: postgres.url, maxConnections: 2 });
  await setUpOrganization();
}, 90_000);

afterAll(async () => {
  for (const server of [apiProcess, runtimeProcess]) {
    if (server && server.child.exitCode === null) await server.stop();
  }
  await database?.close();
  await Promise.all([sims?.stt.close(), sims?.llm.close(), sims?.tts.close()]);
  await postgres?.drop();
  for (const dir of dirs) dir.remove();
});

/** An organization with a published agent answering a Twilio number, and an API key to watch calls. */
async function setUpOrganization(): Promise<void> {
  const system: ServiceContext = {
    db: database.db,
    secretBox: new SecretBox(SECRET),
    publicUrl: apiProcess!.baseUrl,
    signupEnabled: true,
    sessionTtlMs: 3600_000,
    actor: { type: 'system', label: 'test' },
    clientIp: null,
  };
  const { organizationId } = await createUserAsOperator(system, {
    email: 'owner@live.test',
    password: 'correct horse battery',
    name: 'Owner',
    organizationName: 'Live Co',
    isInstanceAdmin: false,
  });
  const org = await operatorOrgContext(system, organizationId);
  const credential = async (provider: string, values: Record<string, string>) =>
    (await createCredential(org, { name: provider, provider: provider as 'openai', values })).id;
  const agent = await createAgent(org, {
    name: 'Reception',
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
    turnTaking: { endpointingSilenceMs: 400 },
  });
  await publishAgent(org, agent.id);
  await createPhoneNumber(org, {
    carrier: 'twilio',
    number: NUMBER,
    credentialId: await credential('twilio', { accountSid: `AC${'5'.repeat(32)}`, authToken: AUTH_TOKEN }),
    inboundAgentId: agent.id,
  });
  apiKey = (await createApiKey(org, { name: 'wallboard', scopes: ['calls:read'] })).secret;
}

/** The agent spoke after `afterMs` and has been quiet for half a second since. */
async function agentDone(caller: TwilioCaller, afterMs: number): Promise<void> {
  await caller.waitFor(() => caller.firstNonSilentOutboundAfter(afterMs), 15_000);
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= 500 ? last : null;
  }, 15_000);
}

describe('live events of a call carried by another process', () => {
  it('reach an SSE client of the API process in order, and resume there after a disconnect without gaps', async () => {
    const url = `${apiProcess!.baseUrl}/api/v1/events`;
    const auth = { authorization: `Bearer ${apiKey}` };
    const watcher = openSse(url, auth);
    const dropping = openSse(url, auth);
    await watcher.opened();
    await dropping.opened();

    const placed = await placeTwilioInboundCall({
      voiceUrl: `${runtimeProcess!.baseUrl}/webhooks/twilio/inbound`,
      authToken: AUTH_TOKEN,
      from: '+15557650003',
      to: NUMBER,
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
    const { caller } = placed;
    const callId = placed.parameters['callId']!;
    await agentDone(caller, 0);
    await dropping.waitFor((m) => m.event === 'agent.speech.ended');
    dropping.close();
    const lastSeen = dropping.state.lastId!;
    // The API process carries no call: what the clients get came over Redis from B.
    expect(apiProcess!.output()).not.toContain(callId);

    // While the client is away the call goes on: the caller hangs up.
    await caller.hangUp();
    await watcher.waitFor(statusIs('completed'));
    const resumed = openSse(url, { ...auth, 'last-event-id': lastSeen });
    await resumed.waitFor(statusIs('completed'));

    const all = watcher.messages;
    expect(all.every((m) => m.data['callId'] === callId)).toBe(true);
    expect(all.filter((m) => m.event === 'call.status').map((m) => m.data['data']['status'])).toEqual([
      'ringing',
      'in_progress',
      'completed',
    ]);
    expect(all.filter((m) => m.event === 'agent.speech.ended').map((m) => m.data['data']['text'])).toEqual([
      GREETING,
    ]);
    const ids = (messages: typeof all) => messages.map((m) => m.id);
    expect([...ids(dropping.messages), ...ids(resumed.messages)]).toEqual(ids(all));
    expect(resumed.messages.length).toBeGreaterThan(0);
    watcher.close();
    resumed.close();
  });
});
