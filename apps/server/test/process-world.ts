// Test-only: Parley as it is deployed at scale, for the e2e suites that need real processes — a
// throwaway PostgreSQL, the provider simulators (STT, LLM, TTS), `parley serve` processes of the roles
// a suite asks for sharing that database (and Redis), and an organization whose published agent answers
// a Twilio number, with an API key for calls and an instance administrator who can sign in.
import { afterAll, beforeAll } from 'vitest';
import {
  and,
  asc,
  callEvents,
  calls,
  eq,
  migrate,
  openDatabase,
  transcriptTurns,
  type DatabaseHandle,
} from '@parley/db';
import { createThrowawayPostgres } from '@parley/db/testing';
import { createAgent, createApiKey, createPhoneNumber, publishAgent, SecretBox } from '@parley/services';
import { placeTwilioInboundCall, type TwilioCaller, type TwilioInboundCallResult } from '@parley/testkit';
import { assertBuilt, startServer, tempDir, type RunningServer } from './server-process.js';
import {
  agentTurn,
  createSimulatedOrganization,
  providerUrlsSetting,
  startProviderSimulators,
  type ProviderSimulators,
} from './simulated-providers.js';

export const GREETING = 'Hello, thanks for calling.';
/** The Twilio number the agent answers, and the auth token its webhooks are signed with. */
export const NUMBER = '+15550004444';
export const TWILIO_AUTH_TOKEN = 'twilio-auth-token-for-the-process-world';
const SECRET = 'a secret key for the process world, long enough';
const OWNER = { email: 'owner@world.test', password: 'correct horse battery' };
const REDIS_URL = process.env['PARLEY_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface ProcessSpec {
  /** PARLEY_ROLE; `all` when absent. */
  role?: 'all' | 'api' | 'runtime';
  /** Tells carriers its own media address (PARLEY_RUNTIME_URL) instead of the public URL. */
  ownMediaUrl?: boolean;
  /** Runs in this folder (a killed process's, say) instead of a new one. */
  cwd?: string;
}

export interface ProcessWorldOptions {
  /** The processes, started together once the database is migrated and the organization is in it. */
  processes: ProcessSpec[];
  /** More settings for every process (heartbeat intervals, say). */
  env?: Record<string, string>;
  /** Whether the processes share Redis (live events, commands, audio across processes); yes if absent. */
  redis?: boolean;
  /** How fast the simulated LLM writes; 200 tokens a second if absent. */
  llmTokensPerSecond?: number;
}

export interface ProcessWorld {
  /** The processes, in the order the options list them. */
  processes: RunningServer[];
  database: DatabaseHandle;
  sims: ProviderSimulators;
  /** An API key of the organization with the `calls:read` and `calls:write` scopes. */
  apiKey: string;
  /** Starts one more process of the world; it is stopped with the world. */
  startProcess(spec: ProcessSpec): Promise<RunningServer>;
  /** Places an inbound Twilio call to NUMBER whose voice webhook goes to process `on`. */
  placeCall(on: RunningServer, from: string): Promise<TwilioInboundCallResult>;
  /** The same, for a call that must get a media stream: its id, its call SID and the caller. */
  answeredCall(
    on: RunningServer,
    from: string,
  ): Promise<{ callId: string; callSid: string; caller: TwilioCaller }>;
  /** The call's row by the call SID Twilio gave it. */
  callBySid(callSid: string): Promise<typeof calls.$inferSelect | undefined>;
  /** The call's transcript so far as [role, text] pairs, in order. */
  transcript(callId: string): Promise<[string, string][]>;
  /** The types of the call's stored events, in order. */
  eventTypes(callId: string): Promise<string[]>;
  /** Signs the instance administrator in on process `on`: a session's headers (cookie, CSRF token). */
  signIn(on: RunningServer): Promise<Record<string, string>>;
  close(): Promise<void>;
}

/**
 * Starts the world before the file's tests and closes it after them; the returned object's fields are
 * set once `beforeAll` has run.
 */
export function useProcessWorld(options: ProcessWorldOptions): ProcessWorld {
  const world = {} as ProcessWorld;
  beforeAll(async () => {
    Object.assign(world, await startProcessWorld(options));
  }, 90_000);
  afterAll(async () => {
    await world.close?.();
  });
  return world;
}

export async function startProcessWorld(options: ProcessWorldOptions): Promise<ProcessWorld> {
  assertBuilt();
  const postgres = await createThrowawayPostgres();
  const dirs: ReturnType<typeof tempDir>[] = [];
  const processes: RunningServer[] = [];
  const [database, sims] = await Promise.all([
    openDatabase({ url: postgres.url, maxConnections: 2 }),
    startProviderSimulators(
      options.llmTokensPerSecond ? { llmTokensPerSecond: options.llmTokensPerSecond } : {},
    ),
  ]);
  const close = async () => {
    await Promise.all(processes.map((p) => (p.child.exitCode === null ? p.stop() : p.exited)));
    await database.close();
    await sims.close();
    await postgres.drop();
    for (const dir of dirs) dir.remove();
  };
  const env: Record<string, string> = {
    DATABASE_URL: postgres.url,
    ...(options.redis === false ? {} : { REDIS_URL }),
    PARLEY_SECRET_KEY: SECRET,
    PARLEY_PROVIDER_URLS: providerUrlsSetting(sims),
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const startProcess = async (spec: ProcessSpec) => {
    let cwd = spec.cwd;
    if (!cwd) {
      const dir = tempDir();
      dirs.push(dir);
      cwd = dir.dir;
    }
    const server = await startServer(
      cwd,
      { ...env, PARLEY_ROLE: spec.role ?? 'all' },
      { ownMediaUrl: spec.ownMediaUrl ?? false },
    );
    processes.push(server);
    return server;
  };

  let apiKey: string;
  try {
    // Migrated here, and the owner made, so that the processes can start together (and print no setup link).
    await migrate(database.db);
    apiKey = await setUpOrganization(database);
    const started = await Promise.allSettled(options.processes.map(startProcess));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    // In the order asked for, whichever came up first.
    processes.splice(
      0,
      started.length,
      ...started.map((s) => (s as PromiseFulfilledResult<RunningServer>).value),
    );
  } catch (error) {
    await close();
    throw error;
  }

  const placeCall = (on: RunningServer, from: string) =>
    placeTwilioInboundCall({
      voiceUrl: `${on.baseUrl}/webhooks/twilio/inbound`,
      authToken: TWILIO_AUTH_TOKEN,
      from,
      to: NUMBER,
    });
  return {
    processes,
    database,
    sims,
    apiKey,
    startProcess,
    placeCall,
    answeredCall: async (on, from) => {
      const placed = await placeCall(on, from);
      if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
      return { callId: placed.parameters['callId']!, callSid: placed.callSid, caller: placed.caller };
    },
    callBySid: async (callSid) =>
      (
        await database.db
          .select()
          .from(calls)
          .where(and(eq(calls.transport, 'twilio'), eq(calls.carrierCallId, callSid)))
      )[0],
    transcript: async (callId) => {
      const turns = await database.db
        .select()
        .from(transcriptTurns)
        .where(eq(transcriptTurns.callId, callId))
        .orderBy(asc(transcriptTurns.seq));
      return turns.map((t): [string, string] => [t.role, t.text]);
    },
    eventTypes: async (callId) => {
      const events = await database.db
        .select()
        .from(callEvents)
        .where(eq(callEvents.callId, callId))
        .orderBy(asc(callEvents.seq));
      return events.map((e) => e.type);
    },
    signIn: async (on) => {
      const response = await fetch(`${on.baseUrl}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(OWNER),
      });
      if (response.status !== 200) throw new Error(`sign-in failed: HTTP ${response.status}`);
      const me = (await response.json()) as { csrfToken: string };
      return {
        cookie: (response.headers.get('set-cookie') ?? '').split(';')[0]!,
        'x-csrf-token': me.csrfToken,
      };
    },
    close,
  };
}

/**
 * The instance administrator, owner of an organization whose published agent answers NUMBER; returns
 * an API key of the organization for calls.
 */
async function setUpOrganization(database: DatabaseHandle): Promise<string> {
  const { org, credential, providers } = await createSimulatedOrganization(
    {
      db: database.db,
      secretBox: new SecretBox(SECRET),
      // Only shown in the phone number's webhook addresses, which no test reads.
      publicUrl: 'http://127.0.0.1',
      signupEnabled: true,
      sessionTtlMs: 3600_000,
    },
    { ...OWNER, organizationName: 'World Co', isInstanceAdmin: true },
  );
  const agent = await createAgent(org, {
    name: 'Reception',
    firstMessage: GREETING,
    ...providers,
    turnTaking: { endpointingSilenceMs: 400 },
  });
  await publishAgent(org, agent.id);
  await createPhoneNumber(org, {
    carrier: 'twilio',
    number: NUMBER,
    credentialId: await credential('twilio', {
      accountSid: `AC${'4'.repeat(32)}`,
      authToken: TWILIO_AUTH_TOKEN,
    }),
    inboundAgentId: agent.id,
  });
  return (await createApiKey(org, { name: 'supervisor', scopes: ['calls:read', 'calls:write'] })).secret;
}

/** Resolves once the agent has spoken after `afterMs` and then been quiet for half a second. */
export function agentDone(caller: TwilioCaller, afterMs: number): Promise<number> {
  return agentTurn({ nonSilent: caller.nonSilentFrameTimes, waitFor: caller.waitFor.bind(caller) }, afterMs);
}
