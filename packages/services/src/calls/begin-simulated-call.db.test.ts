import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, auditLog, calls, eq } from '@parley/db';
import type { ServiceContext } from '../context.js';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { beginInboundCall } from './begin-inbound-call.js';
import { beginSimulatedCall } from './begin-simulated-call.js';
import { claimCallMedia } from './claim-call-media.js';
import { getSimulatedCallReport } from './simulated-call-report.js';

let fixture: CallsFixture;
let draftOnly: string;
const SIMULATION = { apiKey: 'k'.repeat(20), llm: 'http://127.0.0.1:1/v1' };
const fine = () => null;

beforeAll(async () => {
  // `parley call simulate` acts as the CLI.
  fixture = await createCallsFixture({ actorLabel: 'cli' });
  const [draft] = await fixture.db
    .insert(agents)
    .values({ organizationId: fixture.organizationId, name: 'Draft', draft: {} })
    .returning();
  draftOnly = draft!.id;
});
afterAll(() => fixture.close());

describe('simulated calls', () => {
  it('are recorded ringing with their simulation and a media token the runtime can claim', async () => {
    const started = await beginSimulatedCall(fixture.system, {
      agentId: fixture.agentId,
      carrier: 'twilio',
      simulation: SIMULATION,
      problemWith: fine,
    });
    expect(started).toMatchObject({ organizationId: fixture.organizationId, agentVersion: 1 });
    const claimed = await claimCallMedia(
      fixture.db,
      {
        callId: started.callId,
        mediaToken: started.mediaToken,
        carrier: 'twilio',
        runtimeId: 'r1',
        simulated: true,
      },
      new Date(),
    );
    expect(claimed.call).toMatchObject({
      status: 'in_progress',
      direction: 'inbound',
      simulation: SIMULATION,
    });
    const [audit] = await fixture.db.select().from(auditLog).where(eq(auditLog.targetId, started.callId));
    expect(audit).toMatchObject({ action: 'call.simulate', actorLabel: 'cli' });
    const report = await getSimulatedCallReport(fixture.system, started.callId);
    expect(report).toMatchObject({ status: 'in_progress', ended: false, transcript: [], turnLatencies: [] });
  });

  it('are refused for an unknown or unpublished agent, or one the simulators cannot carry, recording nothing', async () => {
    const before = (await fixture.db.select().from(calls)).length;
    const attempt = (agentId: string, problemWith: () => string | null = fine) =>
      beginSimulatedCall(fixture.system, { agentId, carrier: 'twilio', simulation: SIMULATION, problemWith });
    await expect(attempt('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'agent_not_found',
    });
    await expect(attempt(draftOnly)).rejects.toMatchObject({ code: 'invalid_reference' });
    await expect(
      attempt(fixture.agentId, () => 'no stand-in for the STT provider `x`'),
    ).rejects.toMatchObject({
      code: 'invalid_reference',
      message: expect.stringMatching(/no stand-in for the STT provider `x`/),
    });
    expect((await fixture.db.select().from(calls)).length).toBe(before);
  });

  it('need operator power, and the report never reads a real call', async () => {
    const member: ServiceContext = {
      ...fixture.system,
      actor: { type: 'user', userId: 'u', email: 'm@example.test', isInstanceAdmin: false },
    };
    await expect(
      beginSimulatedCall(member, {
        agentId: fixture.agentId,
        carrier: 'twilio',
        simulation: SIMULATION,
        problemWith: fine,
      }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    const real = await beginInboundCall(
      fixture.db,
      {
        organizationId: fixture.organizationId,
        phoneNumberId: null as unknown as string,
        agentId: fixture.agentId,
        agentVersion: 1,
        carrier: 'twilio',
        carrierCallId: 'CA-real',
        from: '+15005550001',
        to: '+15005550006',
      },
      new Date(),
    );
    await expect(getSimulatedCallReport(fixture.system, real.callId)).rejects.toMatchObject({
      code: 'call_not_found',
    });
  });

  it('open only on the simulated media socket, and a real call never opens there', async () => {
    const refused = { code: 'forbidden' };
    const statusOf = async (callId: string) =>
      (await fixture.db.select({ status: calls.status }).from(calls).where(eq(calls.id, callId)))[0]?.status;
    const simulated = await beginSimulatedCall(fixture.system, {
      agentId: fixture.agentId,
      carrier: 'plivo',
      simulation: SIMULATION,
      problemWith: fine,
    });
    const claimSimulated = (asSimulated: boolean) =>
      claimCallMedia(
        fixture.db,
        {
          callId: simulated.callId,
          mediaToken: simulated.mediaToken,
          carrier: 'plivo',
          runtimeId: 'r1',
          simulated: asSimulated,
        },
        new Date(),
      );
    // A carrier's own media route, with the call's right token: not this call's socket.
    await expect(claimSimulated(false)).rejects.toMatchObject(refused);
    expect(await statusOf(simulated.callId)).toBe('ringing');
    await expect(claimSimulated(true)).resolves.toMatchObject({ call: { status: 'in_progress' } });

    const real = await beginInboundCall(
      fixture.db,
      {
        organizationId: fixture.organizationId,
        phoneNumberId: null as unknown as string,
        agentId: fixture.agentId,
        agentVersion: 1,
        carrier: 'plivo',
        carrierCallId: 'plivo-real',
        from: '+15005550001',
        to: '+15005550006',
      },
      new Date(),
    );
    const claimReal = (asSimulated: boolean) =>
      claimCallMedia(
        fixture.db,
        {
          callId: real.callId,
          mediaToken: real.mediaToken,
          carrier: 'plivo',
          runtimeId: 'r1',
          simulated: asSimulated,
        },
        new Date(),
      );
    // The simulated media socket, with the real call's right token: refused all the same.
    await expect(claimReal(true)).rejects.toMatchObject(refused);
    expect(await statusOf(real.callId)).toBe('ringing');
    await expect(claimReal(false)).resolves.toMatchObject({ call: { status: 'in_progress' } });
  });
});
