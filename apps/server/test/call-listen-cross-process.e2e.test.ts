// Supervisor listen at scale: two real `parley serve` processes share PostgreSQL and Redis — A serves
// the API only, B carries calls. A Twilio call lands on B; a supervisor's WebSocket on A's
// GET /calls/:id/listen hears the call (the tap asked for over the command bus, the audio relayed over
// Redis), then its end.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
} from '@parley/testkit';
import { assertBuilt, startServer, tempDir, type RunningServer } from './server-process.js';

const SECRET = 'a secret key for the call listen test, long enough';
const AUTH_TOKEN = 'twilio-auth-token-for-the-listen-test';
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

/** An organization with a published agent answering a Twilio number, and an API key to listen. */
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
    email: 'owner@listen.test',
    password: 'correct horse battery',
    name: 'Owner',
    organizationName: 'Listen Co',
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
  apiKey = (await createApiKey(org, { name: 'supervisor', scopes: ['calls:read'] })).secret;
}

const level = (chunk: Int16Array, channel: 0 | 1) => {
  let sum = 0;
  for (let i = channel; i < chunk.length; i += 2) sum += Math.abs(chunk[i]!);
  return sum / (chunk.length / 2);
};

describe('listening on one process to a call carried by another', () => {
  it('streams the call from runtime B to the supervisor’s socket on api A, then its end', async () => {
    const placed = await placeTwilioInboundCall({
      voiceUrl: `${runtimeProcess!.baseUrl}/webhooks/twilio/inbound`,
      authToken: AUTH_TOKEN,
      from: '+15557650003',
      to: NUMBER,
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
    const { caller } = placed;
    const callId = placed.parameters['callId']!;
    await vi.waitFor(
      async () => {
        const response = await fetch(`${apiProcess!.baseUrl}/api/v1/calls/${callId}`, {
          headers: { authorization: `Bearer ${apiKey}` },
        });
        expect(((await response.json()) as { status: string }).status).toBe('in_progress');
      },
      { timeout: 10_000, interval: 50 },
    );

    const texts: Record<string, unknown>[] = [];
    const chunks: Int16Array[] = [];
    let closed: number | null = null;
    const socket = new WebSocket(
      `${apiProcess!.baseUrl.replace(/^http/, 'ws')}/api/v1/calls/${callId}/listen`,
      {
        headers: { authorization: `Bearer ${apiKey}` },
      },
    );
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) texts.push(JSON.parse(data.toString()) as Record<string, unknown>);
      else {
        const copy = Buffer.from(data);
        chunks.push(new Int16Array(copy.buffer, copy.byteOffset, copy.byteLength / 2));
      }
    });
    socket.on('close', (code) => (closed = code));
    await vi.waitFor(() => expect(texts[0]).toMatchObject({ type: 'start', callId, channels: 2 }), {
      timeout: 15_000,
      interval: 20,
    });
    // The greeting, heard on the agent's channel while the caller's is silent.
    await vi.waitFor(() => expect(chunks.filter((c) => level(c, 1) > 300).length).toBeGreaterThanOrEqual(3), {
      timeout: 15_000,
      interval: 20,
    });
    // The caller speaks: heard on the caller's channel.
    await caller.play('opening-hours');
    await vi.waitFor(() => expect(chunks.filter((c) => level(c, 0) > 300).length).toBeGreaterThanOrEqual(5), {
      timeout: 10_000,
      interval: 20,
    });
    await caller.hangUp();
    await vi.waitFor(() => expect(closed).toBe(1000), { timeout: 15_000, interval: 20 });
    expect(texts.at(-1)).toEqual({ type: 'end', reason: 'caller_hangup' });
    // The api process holds no call: the audio came from B.
    expect(apiProcess!.output()).not.toContain('call tapped for listening');
    expect(runtimeProcess!.output()).toContain('call tapped for listening');
  });
});
