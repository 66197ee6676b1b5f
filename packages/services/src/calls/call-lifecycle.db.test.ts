import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls, eq } from '@parley/db';
import { ServiceError } from '../errors.js';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { applyCarrierStatus } from './apply-carrier-status.js';
import { beginInboundCall, MEDIA_TOKEN_TTL_MS, type InboundCallStart } from './begin-inbound-call.js';
import { claimCallMedia } from './claim-call-media.js';

let fixture: CallsFixture;
let start: Omit<InboundCallStart, 'carrierCallId'>;
const NOW = new Date('2026-11-21T10:00:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

beforeAll(async () => {
  fixture = await createCallsFixture();
  start = {
    organizationId: fixture.organizationId,
    phoneNumberId: await fixture.newPhoneNumber(),
    agentId: fixture.agentId,
    agentVersion: 1,
    carrier: 'twilio',
    from: '+15005550001',
    to: '+15005550006',
  };
});
afterAll(() => fixture.close());

const rowOf = async (id: string) => (await fixture.db.select().from(calls).where(eq(calls.id, id)))[0]!;
const isRefusal = (error: unknown) => error instanceof ServiceError && error.code === 'forbidden';

describe('an inbound call', () => {
  it('is ringing until the media socket presents its token, then in progress with the agent version', async () => {
    const { callId, mediaToken } = await beginInboundCall(
      fixture.db,
      { ...start, carrierCallId: 'CA-inbound-1' },
      NOW,
    );
    expect(await rowOf(callId)).toMatchObject({
      status: 'ringing',
      direction: 'inbound',
      transport: 'twilio',
    });
    const claimed = await claimCallMedia(
      fixture.db,
      { callId, mediaToken, carrier: 'twilio', runtimeId: 'rt-1', simulated: false },
      later(1000),
    );
    expect(claimed.agentConfig).toEqual({ systemPrompt: 'Be kind.' });
    expect(claimed.call).toMatchObject({ status: 'in_progress', runtimeId: 'rt-1', answeredAt: later(1000) });
    // The token is used up: a second socket with it is refused.
    await expect(
      claimCallMedia(
        fixture.db,
        { callId, mediaToken, carrier: 'twilio', runtimeId: 'rt-2', simulated: false },
        later(2000),
      ),
    ).rejects.toSatisfy(isRefusal);
  });

  it('refuses a wrong token, another carrier, an expired token and an unknown call alike', async () => {
    const { callId, mediaToken } = await beginInboundCall(
      fixture.db,
      { ...start, carrierCallId: 'CA-inbound-2' },
      NOW,
    );
    const attempts = [
      { callId, mediaToken: 'forged', carrier: 'twilio', at: later(1) },
      { callId, mediaToken, carrier: 'plivo', at: later(1) },
      { callId, mediaToken, carrier: 'twilio', at: later(MEDIA_TOKEN_TTL_MS + 1) },
      { callId: '0190a0a0-0000-7000-8000-000000000000', mediaToken, carrier: 'twilio', at: later(1) },
    ];
    for (const attempt of attempts) {
      await expect(
        claimCallMedia(fixture.db, { ...attempt, runtimeId: 'rt-1', simulated: false }, attempt.at),
      ).rejects.toSatisfy(isRefusal);
    }
    expect((await rowOf(callId)).status).toBe('ringing');
  });

  it('a retried webhook for the same carrier call keeps one record and issues a fresh token', async () => {
    const first = await beginInboundCall(fixture.db, { ...start, carrierCallId: 'CA-retried' }, NOW);
    const second = await beginInboundCall(fixture.db, { ...start, carrierCallId: 'CA-retried' }, later(500));
    expect(second.callId).toBe(first.callId);
    await expect(
      claimCallMedia(
        fixture.db,
        {
          callId: first.callId,
          mediaToken: first.mediaToken,
          carrier: 'twilio',
          runtimeId: 'rt',
          simulated: false,
        },
        later(600),
      ),
    ).rejects.toSatisfy(isRefusal);
    await claimCallMedia(
      fixture.db,
      {
        callId: first.callId,
        mediaToken: second.mediaToken,
        carrier: 'twilio',
        runtimeId: 'rt',
        simulated: false,
      },
      later(600),
    );
  });
});

describe('carrier status callbacks', () => {
  it('finish a call that never reached a runtime, keeping the carrier’s words', async () => {
    const { callId } = await beginInboundCall(fixture.db, { ...start, carrierCallId: 'CA-busy' }, NOW);
    const applied = await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-busy', status: 'busy', carrierReason: 'busy; SipResponseCode=486' },
      later(3000),
    );
    expect(applied).toEqual({ callId, organizationId: start.organizationId, status: 'busy' });
    expect(await rowOf(callId)).toMatchObject({
      status: 'busy',
      endReason: 'carrier_busy',
      carrierReason: 'busy; SipResponseCode=486',
      endedAt: later(3000),
    });
    // A late "completed" does not reopen or rewrite it.
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-busy', status: 'completed', carrierReason: 'completed' },
      later(4000),
    );
    expect(await rowOf(callId)).toMatchObject({ status: 'busy', carrierReason: 'busy; SipResponseCode=486' });
  });

  it('leave a call the runtime carries to the runtime, noting only why the carrier ended it', async () => {
    const { callId, mediaToken } = await beginInboundCall(
      fixture.db,
      { ...start, carrierCallId: 'CA-carried' },
      NOW,
    );
    await claimCallMedia(
      fixture.db,
      { callId, mediaToken, carrier: 'twilio', runtimeId: 'rt', simulated: false },
      later(10),
    );
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-carried', status: 'completed', carrierReason: 'completed', durationSeconds: 42 },
      later(42_000),
    );
    expect(await rowOf(callId)).toMatchObject({
      status: 'in_progress',
      carrierReason: 'completed',
      endedAt: null,
    });
  });

  it('give a call the runtime ended the carrier’s final words, replacing progress ones', async () => {
    const { callId, mediaToken } = await beginInboundCall(
      fixture.db,
      { ...start, carrierCallId: 'CA-ended-by-runtime' },
      NOW,
    );
    await claimCallMedia(
      fixture.db,
      { callId, mediaToken, carrier: 'twilio', runtimeId: 'rt', simulated: false },
      later(10),
    );
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-ended-by-runtime', status: 'in_progress', carrierReason: 'in-progress' },
      later(20),
    );
    await fixture.db
      .update(calls)
      .set({ status: 'completed', endReason: 'caller_hangup', endedAt: later(9000) })
      .where(eq(calls.id, callId));
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      {
        carrierCallId: 'CA-ended-by-runtime',
        status: 'completed',
        carrierReason: 'completed; SipResponseCode=200',
      },
      later(9100),
    );
    expect(await rowOf(callId)).toMatchObject({
      status: 'completed',
      endReason: 'caller_hangup',
      carrierReason: 'completed; SipResponseCode=200',
    });
  });

  it('end a machine-answered call as voicemail, whether the verdict comes before or after the end', async () => {
    // Verdict first, then the carrier ends the call nobody carried.
    const early = await beginInboundCall(fixture.db, { ...start, carrierCallId: 'CA-amd-early' }, NOW);
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      {
        carrierCallId: 'CA-amd-early',
        status: 'in_progress',
        carrierReason: 'machine_end_beep',
        answeredBy: 'machine',
      },
      later(100),
    );
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-amd-early', status: 'completed', carrierReason: 'completed' },
      later(5000),
    );
    expect(await rowOf(early.callId)).toMatchObject({ status: 'voicemail', endReason: 'carrier_voicemail' });

    // The carrier ended it first; the verdict arrives after.
    const late = await beginInboundCall(fixture.db, { ...start, carrierCallId: 'CA-amd-late' }, NOW);
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-amd-late', status: 'completed', carrierReason: 'completed' },
      later(5000),
    );
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      {
        carrierCallId: 'CA-amd-late',
        status: 'in_progress',
        carrierReason: 'machine_end_other',
        answeredBy: 'machine',
      },
      later(5100),
    );
    expect(await rowOf(late.callId)).toMatchObject({
      status: 'voicemail',
      endReason: 'carrier_voicemail',
      answeredBy: 'machine',
    });

    // A person answering changes nothing.
    const human = await beginInboundCall(fixture.db, { ...start, carrierCallId: 'CA-amd-human' }, NOW);
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-amd-human', status: 'in_progress', carrierReason: 'human', answeredBy: 'human' },
      later(100),
    );
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-amd-human', status: 'completed', carrierReason: 'completed' },
      later(5000),
    );
    expect(await rowOf(human.callId)).toMatchObject({ status: 'completed', endReason: 'carrier_completed' });
  });

  it('answer nothing for a call id nobody has, on this carrier', async () => {
    await beginInboundCall(fixture.db, { ...start, carrierCallId: 'CA-other-carrier' }, NOW);
    expect(
      await applyCarrierStatus(
        fixture.db,
        'plivo',
        { carrierCallId: 'CA-other-carrier', status: 'failed', carrierReason: 'x' },
        NOW,
      ),
    ).toBeNull();
  });
});
