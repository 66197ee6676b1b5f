// The promise that a call's data survives a crash: a real `parley serve` process on PostgreSQL carries a
// Twilio call, is killed with SIGKILL mid-call, and the call's events, transcript and recording up to
// about a second before the kill are in the database and on disk. A new process then closes the call as
// runtime_lost once the dead one has been silent for the configured time.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, callEvents, calls, eq, openDatabase, transcriptTurns, type DatabaseHandle } from '@parley/db';
import { createThrowawayPostgres } from '@parley/db/testing';
import {
  createAgent,
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
  loadFixture,
  placeTwilioInboundCall,
  startCartesiaSimulator,
  startLlmSimulator,
  startSttSimulator,
  type TwilioCaller,
} from '@parley/testkit';
import { parseWav } from '@parley/voice';
import { assertBuilt, startServer, tempDir, type RunningServer } from './server-process.js';

const SECRET = 'a secret key for the crash test that is long enough';
const AUTH_TOKEN = 'twilio-auth-token-for-the-crash-test';
const NUMBER = '+15550002222';
const LONG_REPLY =
  'We open at nine on weekdays and at ten on Saturdays, we close at six every day except Sunday, ' +
  'and you can always book online, where every appointment is confirmed by text within the hour.';

let postgres: { url: string; drop: () => Promise<void> };
let database: DatabaseHandle;
let workdir: ReturnType<typeof tempDir>;
let server: RunningServer | null = null;
let sims: {
  stt: Awaited<ReturnType<typeof startSttSimulator>>;
  llm: Awaited<ReturnType<typeof startLlmSimulator>>;
  tts: Awaited<ReturnType<typeof startCartesiaSimulator>>;
};

function serverEnv(): Record<string, string> {
  return {
    DATABASE_URL: postgres.url,
    PARLEY_SECRET_KEY: SECRET,
    PARLEY_PROVIDER_URLS: `deepgram=${sims.stt.url},openai=${sims.llm.url},cartesia=${sims.tts.baseUrl}`,
    PARLEY_RUNTIME_HEARTBEAT_MS: '300',
    PARLEY_RUNTIME_STALE_AFTER_MS: '1500',
    LOG_LEVEL: 'info',
  };
}

beforeAll(async () => {
  assertBuilt();
  postgres = await createThrowawayPostgres();
  workdir = tempDir();
  sims = {
    stt: await startSttSimulator({ apiKey: 'dg-key', finalLatencyMs: 20 }),
    llm: await startLlmSimulator({ apiKey: 'llm-key', firstTokenLatency: constant(30), tokensPerSecond: 40 }),
    tts: await startCartesiaSimulator({ apiKey: 'tts-key', firstByteLatencyMs: 20 }),
  };
  server = await startServer(workdir.dir, serverEnv());
  database = await openDatabase({ url: postgres.url, maxConnections: 2 });
  await setUpOrganization(server.baseUrl);
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await database?.close();
  await Promise.all([sims?.stt.close(), sims?.llm.close(), sims?.tts.close()]);
  await postgres?.drop();
  workdir?.remove();
});

/** An organization with a published agent answering a Twilio number, made directly in the database. */
async function setUpOrganization(publicUrl: string): Promise<void> {
  const system: ServiceContext = {
    db: database.db,
    secretBox: new SecretBox(SECRET),
    publicUrl,
    signupEnabled: true,
    sessionTtlMs: 3600_000,
    actor: { type: 'system', label: 'test' },
    clientIp: null,
  };
  const { organizationId } = await createUserAsOperator(system, {
    email: 'owner@crash.test',
    password: 'correct horse battery',
    name: 'Owner',
    organizationName: 'Crash Co',
    isInstanceAdmin: false,
  });
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
    turnTaking: { endpointingSilenceMs: 400 },
  });
  await publishAgent(org, agent.id);
  await createPhoneNumber(org, {
    carrier: 'twilio',
    number: NUMBER,
    credentialId: await credential('twilio', { accountSid: `AC${'1'.repeat(32)}`, authToken: AUTH_TOKEN }),
    inboundAgentId: agent.id,
  });
}

async function agentStarts(caller: TwilioCaller, afterMs: number): Promise<number> {
  return caller.waitFor(() => caller.firstNonSilentOutboundAfter(afterMs), 15_000);
}

/** The agent spoke after `afterMs` and has been quiet for half a second. */
async function agentFinishes(caller: TwilioCaller, afterMs: number): Promise<void> {
  await agentStarts(caller, afterMs);
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= 500 ? last : null;
  }, 15_000);
}

describe('a runtime killed mid-call', () => {
  it('keeps the call’s events, transcript and recording up to the last second, and a new runtime closes it', async () => {
    const placed = await placeTwilioInboundCall({
      voiceUrl: `${server!.baseUrl}/webhooks/twilio/inbound`,
      authToken: AUTH_TOKEN,
      from: '+15557650000',
      to: NUMBER,
    });
    if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
    const { caller } = placed;
    const callId = placed.parameters['callId']!;
    await agentFinishes(caller, 0);
    sims.stt.queueUtterance(loadFixture('opening-hours').transcript!);
    sims.llm.script({ text: LONG_REPLY });
    const { endedAtMs } = await caller.play('opening-hours');
    // The agent is two seconds into its long answer when the process dies.
    const replyStartedAt = await agentStarts(caller, endedAtMs);
    await caller.waitFor(() => (performance.now() - replyStartedAt >= 2000 ? true : null), 10_000);
    server!.child.kill('SIGKILL');
    await server!.exited;
    const [killed] = await database.db.select().from(calls).where(eq(calls.id, callId));
    expect(killed).toMatchObject({ status: 'in_progress' });

    // Everything that happened a second or more before the kill is there.
    const events = await database.db
      .select()
      .from(callEvents)
      .where(eq(callEvents.callId, callId))
      .orderBy(asc(callEvents.seq));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('call.started');
    for (const type of ['agent.speech.started', 'agent.speech.ended', 'user.speech.started', 'user.turn']) {
      expect(types).toContain(type);
    }
    expect(types).not.toContain('call.ended');
    const turns = await database.db
      .select()
      .from(transcriptTurns)
      .where(eq(transcriptTurns.callId, callId))
      .orderBy(asc(transcriptTurns.seq));
    expect(turns.map((t) => [t.role, t.text])).toEqual([
      ['agent', 'Hello, thanks for calling.'],
      ['user', loadFixture('opening-hours').transcript],
    ]);
    // The recording is named on the call and playable up to its last sync, about a second before the kill.
    const recordingPath = killed!.recordingPath!;
    expect(path.isAbsolute(recordingPath) && existsSync(recordingPath)).toBe(true);
    const wav = parseWav(new Uint8Array(await readFile(recordingPath)));
    const recordedMs = (wav.samples.length / wav.channels / wav.sampleRateHz) * 1000;
    const callMs = performance.now() - caller.startSentAtMs;
    expect(recordedMs).toBeGreaterThan(callMs - 2000);

    // A new process finds the call of the silent runtime and closes it.
    server = await startServer(workdir.dir, serverEnv());
    await vi.waitFor(
      async () => {
        const [row] = await database.db.select().from(calls).where(eq(calls.id, callId));
        expect(row).toMatchObject({ status: 'failed', endReason: 'runtime_lost' });
      },
      { timeout: 15_000, interval: 100 },
    );
  });
});
