import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, agentVersions, auditLog, calls, eq, type DatabaseHandle } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { createUserAsOperator } from '../admin/system.js';
import type { ServiceContext } from '../context.js';
import { SecretBox } from '../secret-box.js';
import { beginInboundCall } from './begin-inbound-call.js';
import { beginSimulatedCall, findCallSimulation } from './begin-simulated-call.js';
import { claimCallMedia } from './claim-call-media.js';
import { getSimulatedCallReport } from './simulated-call-report.js';

let database: DatabaseHandle;
let system: ServiceContext;
let organizationId: string;
let published: string;
let draftOnly: string;
const SIMULATION = { apiKey: 'k'.repeat(20), llm: 'http://127.0.0.1:1/v1' };
const fine = () => null;

beforeAll(async () => {
  database = await createTestDatabase();
  system = {
    db: database.db,
    secretBox: new SecretBox('a test instance secret that is long enough'),
    publicUrl: 'http://parley.test',
    signupEnabled: true,
    sessionTtlMs: 60_000,
    actor: { type: 'system', label: 'cli' },
    clientIp: null,
  };
  ({ organizationId } = await createUserAsOperator(system, {
    email: 'owner@example.test',
    password: 'correct horse battery',
    name: 'Owner',
    organizationName: 'Acme',
    isInstanceAdmin: false,
  }));
  const [agent] = await database.db
    .insert(agents)
    .values({ organizationId, name: 'Reception', draft: {}, publishedVersion: 1 })
    .returning();
  await database.db
    .insert(agentVersions)
    .values({ organizationId, agentId: agent!.id, version: 1, config: { systemPrompt: 'Be kind.' } });
  published = agent!.id;
  const [draft] = await database.db
    .insert(agents)
    .values({ organizationId, name: 'Draft', draft: {} })
    .returning();
  draftOnly = draft!.id;
});
afterAll(() => database.close());

describe('simulated calls', () => {
  it('are recorded ringing with their simulation and a media token the runtime can claim', async () => {
    const started = await beginSimulatedCall(system, {
      agentId: published,
      carrier: 'twilio',
      simulation: SIMULATION,
      problemWith: fine,
    });
    expect(started).toMatchObject({ organizationId, agentVersion: 1 });
    expect(await findCallSimulation(database.db, started.callId)).toEqual({
      carrier: 'twilio',
      simulation: SIMULATION,
    });
    const claimed = await claimCallMedia(
      database.db,
      { callId: started.callId, mediaToken: started.mediaToken, carrier: 'twilio', runtimeId: 'r1' },
      new Date(),
    );
    expect(claimed.call).toMatchObject({
      status: 'in_progress',
      direction: 'inbound',
      simulation: SIMULATION,
    });
    const [audit] = await database.db.select().from(auditLog).where(eq(auditLog.targetId, started.callId));
    expect(audit).toMatchObject({ action: 'call.simulate', actorLabel: 'cli' });
    const report = await getSimulatedCallReport(system, started.callId);
    expect(report).toMatchObject({ status: 'in_progress', ended: false, transcript: [], turnLatencies: [] });
  });

  it('are refused for an unknown or unpublished agent, or one the simulators cannot carry, recording nothing', async () => {
    const before = (await database.db.select().from(calls)).length;
    const attempt = (agentId: string, problemWith: () => string | null = fine) =>
      beginSimulatedCall(system, { agentId, carrier: 'twilio', simulation: SIMULATION, problemWith });
    await expect(attempt('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'agent_not_found',
    });
    await expect(attempt(draftOnly)).rejects.toMatchObject({ code: 'invalid_reference' });
    await expect(attempt(published, () => 'no stand-in for the STT provider `x`')).rejects.toMatchObject({
      code: 'invalid_reference',
      message: expect.stringMatching(/no stand-in for the STT provider `x`/),
    });
    expect((await database.db.select().from(calls)).length).toBe(before);
  });

  it('need operator power, and the report never reads a real call', async () => {
    const member: ServiceContext = {
      ...system,
      actor: { type: 'user', userId: 'u', email: 'm@example.test', isInstanceAdmin: false },
    };
    await expect(
      beginSimulatedCall(member, {
        agentId: published,
        carrier: 'twilio',
        simulation: SIMULATION,
        problemWith: fine,
      }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    const real = await beginInboundCall(
      database.db,
      {
        organizationId,
        phoneNumberId: null as unknown as string,
        agentId: published,
        agentVersion: 1,
        carrier: 'twilio',
        carrierCallId: 'CA-real',
        from: '+15005550001',
        to: '+15005550006',
      },
      new Date(),
    );
    expect(await findCallSimulation(database.db, real.callId)).toBeNull();
    await expect(getSimulatedCallReport(system, real.callId)).rejects.toMatchObject({
      code: 'call_not_found',
    });
  });
});
