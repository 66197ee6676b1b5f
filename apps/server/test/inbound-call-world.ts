// Test-only: a running Parley for the carrier e2e suites — a test database, the
// provider simulators (STT, LLM, TTS), a voice runtime, the HTTP app with the carrier routes the suite
// mounts, an organization with a published agent — and the assertions on a finished call's record.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { expect, vi } from 'vitest';
import { asc, callEvents, calls, eq, transcriptTurns, type DatabaseHandle } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import type { AgentConfigInput } from '@parley/contracts';
import { createAgent, publishAgent, SecretBox, type OrgContext, type ServiceDeps } from '@parley/services';
import { parseWav } from '@parley/voice';
import { buildApp, type App } from '../src/api/app.js';
import { readiness } from '../src/runtime.js';
import type { TelephonyEnv } from '../src/telephony/telephony-env.js';
import { CarrierDialer } from '../src/telephony/carrier-dialer.js';
import { VoiceRuntime } from '../src/telephony/voice-runtime.js';
import { InProcessCallCommandBus } from '../src/live/in-process-bus.js';
import { InProcessCallAudioRelay } from '../src/live/call-audio-relay.js';
import { InProcessLiveEventLog } from '../src/live/in-process-live-event-log.js';
import type { LiveEventLog } from '../src/live/live-event-log.js';
import {
  createSimulatedOrganization,
  providerUrlsOf,
  startProviderSimulators,
  type ProviderSimulators,
} from './simulated-providers.js';

export { agentTurn, type ListeningCaller } from './simulated-providers.js';

export const GREETING = 'Hello, thanks for calling Acme. How can I help?';
export const REPLY = 'We open at nine on Saturdays.';

export interface InboundCallWorld {
  database: DatabaseHandle;
  deps: ServiceDeps;
  org: OrgContext;
  /** The published agent that takes the suite's numbers. */
  agentId: string;
  sims: ProviderSimulators;
  /** Creates and publishes another agent on the world's providers, with `overrides`; returns its id. */
  publishedAgent(overrides: Partial<AgentConfigInput>): Promise<string>;
  /** Creates a credential in the organization; returns its id. */
  credential(provider: string, values: Record<string, string>): Promise<string>;
  /** The call's row. */
  callRow(callId: string): Promise<typeof calls.$inferSelect>;
  close(): Promise<void>;
}

/** Starts everything; `mount` puts the carrier routes on the app (the websocket plugin included). */
export async function startInboundCallWorld(
  mount: (app: FastifyInstance, env: TelephonyEnv) => Promise<void>,
  options: {
    /** Carrier REST simulators by carrier id: outbound calls and in-call actions go through them. */
    carrierApiUrls?: Readonly<Record<string, string>>;
    /** The operator's allow-list for customer URLs (a local pre-call context server, say). */
    allowedHosts?: readonly string[];
    /**
     * The live event logs of the runtime and of the API (two processes' over Redis, say); one in
     * memory for both when absent, as in the embedded default. Closed with the world.
     */
    liveEvents?: { runtime: LiveEventLog; api: LiveEventLog };
  } = {},
): Promise<InboundCallWorld> {
  const database = await createTestDatabase();
  const recordingsDir = await mkdtemp(path.join(tmpdir(), 'parley-recordings-'));
  const sims = await startProviderSimulators();
  const deps: ServiceDeps = {
    db: database.db,
    secretBox: new SecretBox('test secret key that is long enough to be accepted'),
    publicUrl: 'http://127.0.0.1',
    signupEnabled: true,
    sessionTtlMs: 3600_000,
  };
  const logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  const dialer = options.carrierApiUrls
    ? new CarrierDialer({ deps, carrierApiUrls: options.carrierApiUrls })
    : undefined;
  if (dialer) deps.dialer = dialer;
  // One process: commands for live calls are handed over in memory, as in the embedded default.
  const commands = new InProcessCallCommandBus(logger);
  // A supervisor's call control takes the same way.
  deps.callCommands = commands;
  // Supervisor listen: the audio of calls someone listens to, handed over in memory too.
  const callAudio = new InProcessCallAudioRelay(logger);
  const sharedLiveEvents = new InProcessLiveEventLog({ logger });
  const liveEvents = options.liveEvents ?? { runtime: sharedLiveEvents, api: sharedLiveEvents };
  const voice = await VoiceRuntime.start({
    deps,
    runtimeId: 'test-runtime',
    commands,
    audio: callAudio,
    liveEvents: liveEvents.runtime,
    recordingsDir,
    providerUrls: providerUrlsOf(sims),
    logger,
    ...(dialer ? { callControl: dialer } : {}),
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
  });
  const app: App = await buildApp({
    deps,
    version: 'test',
    role: 'all',
    bodyLimitBytes: 64 * 1024,
    trustProxy: false,
    loginRateLimitPerMinute: 1000,
    checkReady: () => readiness(database),
    extraRoutes: (scope) => mount(scope, { deps, runtime: voice, commands, logger }),
    liveAudio: { commands, audio: callAudio },
    liveEvents: liveEvents.api,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  deps.publicUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const { org, credential, providers } = await createSimulatedOrganization(deps, {
    email: 'owner@acme.test',
    password: 'correct horse battery',
    organizationName: 'Acme',
    isInstanceAdmin: false,
  });
  const publishedAgent = async (overrides: Partial<AgentConfigInput>) => {
    const agent = await createAgent(org, {
      name: 'Reception',
      systemPrompt: 'You answer questions about opening hours.',
      firstMessage: GREETING,
      ...providers,
      turnTaking: { endpointingSilenceMs: 400, minInterruptionSpeechMs: 200 },
      ...overrides,
    });
    await publishAgent(org, agent.id);
    return agent.id;
  };
  const agentId = await publishedAgent({});

  return {
    database,
    deps,
    org,
    agentId,
    sims,
    credential,
    publishedAgent,
    callRow: async (callId) => {
      const [row] = await database.db.select().from(calls).where(eq(calls.id, callId));
      if (!row) throw new Error(`no call ${callId}`);
      return row;
    },
    close: async () => {
      await voice.close();
      await app.close();
      await commands.close();
      await Promise.all([sharedLiveEvents.close(), liveEvents.runtime.close(), liveEvents.api.close()]);
      await sims.close();
      await database.close();
      await rm(recordingsDir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits for the call to end with `endReason` (status `completed` unless given), then answers its
 * transcript as [role, text] pairs in order.
 */
export async function endedCallTurns(
  world: InboundCallWorld,
  callId: string,
  end: { endReason: string; status?: string },
): Promise<[string, string][]> {
  await vi.waitFor(
    async () =>
      expect(await world.callRow(callId)).toMatchObject({
        status: end.status ?? 'completed',
        endReason: end.endReason,
      }),
    { timeout: 10_000, interval: 50 },
  );
  const turns = await world.database.db
    .select()
    .from(transcriptTurns)
    .where(eq(transcriptTurns.callId, callId))
    .orderBy(asc(transcriptTurns.seq));
  return turns.map((t) => [t.role, t.text]);
}

/**
 * Waits for the call to be completed by the caller's hang-up, then checks what a user of the call
 * record sees: the transcript, the events in order, and a recording as long as the call.
 */
export async function expectRecordedConversation(
  world: InboundCallWorld,
  callId: string,
  userText: string,
): Promise<typeof calls.$inferSelect> {
  await vi.waitFor(
    async () => {
      expect(await world.callRow(callId)).toMatchObject({ status: 'completed', endReason: 'caller_hangup' });
    },
    { timeout: 10_000, interval: 50 },
  );
  const row = await world.callRow(callId);
  expect(row).toMatchObject({
    organizationId: world.org.organizationId,
    direction: 'inbound',
    runtimeId: 'test-runtime',
    mediaTokenHash: null,
  });

  const turns = await world.database.db
    .select()
    .from(transcriptTurns)
    .where(eq(transcriptTurns.callId, callId))
    .orderBy(asc(transcriptTurns.seq));
  expect(turns.map((t) => [t.role, t.text])).toEqual([
    ['agent', GREETING],
    ['user', userText],
    ['agent', REPLY],
  ]);

  const events = await world.database.db
    .select()
    .from(callEvents)
    .where(eq(callEvents.callId, callId))
    .orderBy(asc(callEvents.seq));
  expect(events[0]!.type).toBe('call.started');
  expect(events.at(-1)!.type).toBe('call.ended');
  expect(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq)).toBe(true);
  const conversation = ['agent.speech.started', 'agent.speech.ended', 'user.turn'];
  expect(events.filter((e) => conversation.includes(e.type)).map((e) => e.type)).toEqual([
    'agent.speech.started',
    'agent.speech.ended',
    'user.turn',
    'agent.speech.started',
    'agent.speech.ended',
  ]);
  expect(events.some((e) => e.type === 'turn.latency')).toBe(true);

  // The recording is as long as the call, caller left and agent right.
  const recordingPath = row.recordingPath!;
  expect(existsSync(recordingPath)).toBe(true);
  const wav = parseWav(new Uint8Array(await readFile(recordingPath)));
  expect(wav.channels).toBe(2);
  const recordedMs = (wav.samples.length / wav.channels / wav.sampleRateHz) * 1000;
  expect(Math.abs(recordedMs - row.recordingDurationMs!)).toBeLessThan(200);
  const callMs = row.endedAt!.getTime() - row.answeredAt!.getTime();
  expect(Math.abs(recordedMs - callMs)).toBeLessThan(1000);
  return row;
}

/** What the agent said in the call so far, in order. */
export async function agentTexts(world: InboundCallWorld, callId: string): Promise<string[]> {
  const turns = await world.database.db
    .select()
    .from(transcriptTurns)
    .where(eq(transcriptTurns.callId, callId))
    .orderBy(asc(transcriptTurns.seq));
  return turns.filter((t) => t.role === 'agent').map((t) => t.text);
}
