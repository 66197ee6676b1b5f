// Draining across processes: two `parley serve` processes share PostgreSQL and Redis, each telling
// carriers its own media address (PARLEY_RUNTIME_URL). Draining A through the API sends the next call
// whose webhook lands on A to B, which carries it; with both draining, the caller hears busy.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { and, calls, eq, openDatabase, type DatabaseHandle } from '@parley/db';
import { createThrowawayPostgres } from '@parley/db/testing';
import {
  createAgent,
  createCredential,
  createPhoneNumber,
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
} from '@parley/testkit';
import { assertBuilt, cleanEnv, CLI, tempDir } from './server-process.js';

const SECRET = 'a secret key for the runtime drain test, long enough';
const AUTH_TOKEN = 'twilio-auth-token-for-the-drain-test';
const NUMBER = '+15550004444';
const CALLER = '+15557654444';

interface Process {
  child: ChildProcessWithoutNullStreams;
  baseUrl: string;
  mediaUrl: string;
  setupLink: string | null;
  output: () => string;
  exited: Promise<number | null>;
}

/** A free local port: the process must know its own address (PARLEY_RUNTIME_URL) before it listens. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startProcess(env: Record<string, string>): Promise<Process> {
  const port = await freePort();
  const mediaUrl = `ws://127.0.0.1:${port}`;
  const dir = tempDir();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    cwd: dir.dir,
    env: cleanEnv({ ...env, PARLEY_PORT: String(port), PARLEY_RUNTIME_URL: mediaUrl }),
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then(() => dir.remove());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 45_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Parley is listening on/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    mediaUrl,
    setupLink: /(http:\/\/\S+\/setup\?token=\S+)/.exec(output)?.[1] ?? null,
    output: () => output,
    exited,
  };
}

let postgres: { url: string; drop: () => Promise<void> };
let database: DatabaseHandle;
let a: Process;
let b: Process;
let session: Record<string, string>;
let sims: {
  stt: Awaited<ReturnType<typeof startSttSimulator>>;
  llm: Awaited<ReturnType<typeof startLlmSimulator>>;
  tts: Awaited<ReturnType<typeof startCartesiaSimulator>>;
};

async function api(server: Process, method: string, path: string) {
  const response = await fetch(`${server.baseUrl}/api/v1${path}`, {
    method,
    headers: { ...session, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** The runtimes as `server` lists them, keyed by the process whose media address each has. */
async function runtimesSeenFrom(server: Process) {
  const response = await api(server, 'GET', '/runtimes');
  expect(response.status).toBe(200);
  const of = (p: Process) => (response.body.data as any[]).find((r) => r.mediaUrl === p.mediaUrl);
  return { a: of(a), b: of(b) };
}

beforeAll(async () => {
  assertBuilt();
  postgres = await createThrowawayPostgres();
  sims = {
    stt: await startSttSimulator({ apiKey: 'dg-key', finalLatencyMs: 20 }),
    llm: await startLlmSimulator({
      apiKey: 'llm-key',
      firstTokenLatency: constant(30),
      tokensPerSecond: 200,
    }),
    tts: await startCartesiaSimulator({ apiKey: 'tts-key', firstByteLatencyMs: 20 }),
  };
  const env = {
    DATABASE_URL: postgres.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    PARLEY_SECRET_KEY: SECRET,
    PARLEY_PROVIDER_URLS: `deepgram=${sims.stt.url},openai=${sims.llm.url},cartesia=${sims.tts.baseUrl}`,
    PARLEY_RUNTIME_HEARTBEAT_MS: '200',
    LOG_LEVEL: 'info',
  };
  a = await startProcess(env);
  // The instance's owner (an instance administrator), through A's one-time setup link.
  const token = new URL(a.setupLink!).searchParams.get('token');
  const setup = await fetch(`${a.baseUrl}/api/v1/auth/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token,
      email: 'owner@drain.test',
      password: 'a long enough password',
      name: 'Owner',
      organizationName: 'Drain Co',
    }),
  });
  const owner = (await setup.json()) as { csrfToken: string; currentOrganizationId: string };
  session = {
    cookie: (setup.headers.get('set-cookie') ?? '').split(';')[0]!,
    'x-csrf-token': owner.csrfToken,
  };
  database = await openDatabase({ url: postgres.url, maxConnections: 2 });
  await setUpAgentAndNumber(owner.currentOrganizationId, a.baseUrl);
  b = await startProcess(env);
}, 120_000);

afterAll(async () => {
  for (const p of [a, b]) if (p && p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all([a?.exited, b?.exited]);
  await database?.close();
  await Promise.all([sims?.stt.close(), sims?.llm.close(), sims?.tts.close()]);
  await postgres?.drop();
});

async function setUpAgentAndNumber(organizationId: string, publicUrl: string): Promise<void> {
  const system: ServiceContext = {
    db: database.db,
    secretBox: new SecretBox(SECRET),
    publicUrl,
    signupEnabled: true,
    sessionTtlMs: 3600_000,
    actor: { type: 'system', label: 'test' },
    clientIp: null,
  };
  const org = await operatorOrgContext(system, organizationId);
  const credential = async (provider: string, values: Record<string, string>) =>
    (await createCredential(org, { name: provider, provider: provider as 'openai', values })).id;
  const agent = await createAgent(org, {
    name: 'Reception',
    firstMessage: 'Hello, thanks for calling.',
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
  });
  await publishAgent(org, agent.id);
  await createPhoneNumber(org, {
    carrier: 'twilio',
    number: NUMBER,
    credentialId: await credential('twilio', { accountSid: `AC${'4'.repeat(32)}`, authToken: AUTH_TOKEN }),
    inboundAgentId: agent.id,
  });
}

const callToA = () =>
  placeTwilioInboundCall({
    voiceUrl: `${a.baseUrl}/webhooks/twilio/inbound`,
    authToken: AUTH_TOKEN,
    from: CALLER,
    to: NUMBER,
  });

const callOf = async (callSid: string) =>
  (
    await database.db
      .select()
      .from(calls)
      .where(and(eq(calls.transport, 'twilio'), eq(calls.carrierCallId, callSid)))
  )[0];

describe('draining a runtime across processes', () => {
  it('moves new calls to the other process, which carries them, and reports the drained one empty', async () => {
    const before = await vi.waitFor(
      async () => {
        const seen = await runtimesSeenFrom(a);
        expect([seen.a?.state, seen.b?.state]).toEqual(['active', 'active']);
        return seen;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(before.a).toMatchObject({ role: 'all', activeCalls: 0, host: expect.any(String) });
    expect(before.a.version).toMatch(/^\d+\.\d+\.\d+/);

    const drained = await api(a, 'POST', `/runtimes/${before.a.id}/drain`);
    expect([drained.status, drained.body.state]).toEqual([200, 'drained']);

    // The carrier posts the call's webhook to A; A answers with B's media address.
    const placed = await callToA();
    if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
    expect(placed.streamUrl.startsWith(`${b.mediaUrl}/media/twilio/`)).toBe(true);
    const { caller } = placed;
    // B carries it: the agent greets the caller, and the call's record names B's runtime.
    await caller.waitFor(() => caller.firstNonSilentOutboundAfter(0), 15_000);
    const carried = await callOf(placed.callSid);
    expect(carried).toMatchObject({ status: 'in_progress', runtimeId: before.b.id });
    await vi.waitFor(async () => expect((await runtimesSeenFrom(b)).b?.activeCalls).toBe(1), {
      timeout: 10_000,
      interval: 100,
    });
    await caller.hangUp();

    // B's API sees A's drain too (the registry is shared); A said so in its log.
    expect((await runtimesSeenFrom(b)).a).toMatchObject({ state: 'drained', activeCalls: 0 });
    await vi.waitFor(() => expect(a.output()).toMatch(/"msg":"runtime drained"/), {
      timeout: 10_000,
      interval: 100,
    });
    await vi.waitFor(async () => expect((await callOf(placed.callSid))?.status).toBe('completed'), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it('refuses a new call with a busy signal when every runtime drains, and takes calls again once resumed', async () => {
    const { a: runtimeA, b: runtimeB } = await runtimesSeenFrom(a);
    expect((await api(a, 'POST', `/runtimes/${runtimeB.id}/drain`)).status).toBe(200);

    const refused = await callToA();
    expect(refused.kind).toBe('hangup');
    expect(refused.twiml).toContain('<Reject reason="busy"/>');
    expect(await callOf(refused.callSid)).toMatchObject({
      status: 'failed',
      endReason: 'no_runtime_available',
    });

    expect((await api(b, 'POST', `/runtimes/${runtimeA.id}/resume`)).body.state).toBe('active');
    const placed = await callToA();
    if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
    expect(placed.streamUrl.startsWith(`${a.mediaUrl}/media/twilio/`)).toBe(true);
    await placed.caller.hangUp();
  });
});
