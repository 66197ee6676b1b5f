import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls, eq } from '@parley/db';
import { ServiceError } from '../errors.js';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { MEDIA_TOKEN_TTL_MS } from './begin-inbound-call.js';
import { claimCallMedia } from './claim-call-media.js';
import { issueMediaToken } from './issue-media-token.js';
import { resumeCallMedia } from './resume-call-media.js';

let fixture: CallsFixture;
const NOW = new Date('2026-11-21T10:00:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);
const isRefusal = (error: unknown) => error instanceof ServiceError && error.code === 'forbidden';

beforeAll(async () => {
  fixture = await createCallsFixture();
});
afterAll(() => fixture.close());

const rowOf = async (id: string) => (await fixture.db.select().from(calls).where(eq(calls.id, id)))[0]!;

/** A Twilio call placed at NOW, ringing: no runtime carries it yet. */
const ringingCall = () => fixture.newCall({ createdAt: NOW, updatedAt: NOW });

/** A Twilio call answered and carried by runtime rt-1. */
async function carriedCall(): Promise<string> {
  const callId = await ringingCall();
  const token = await issueMediaToken(fixture.db, callId, NOW);
  await claimCallMedia(
    fixture.db,
    { callId, mediaToken: token!, carrier: 'twilio', runtimeId: 'rt-1', simulated: false },
    later(10),
  );
  return callId;
}

const resume = (
  callId: string,
  mediaToken: string,
  at: Date,
  over: { carrier?: string; runtimeId?: string } = {},
) =>
  resumeCallMedia(
    fixture.db,
    { callId, mediaToken, carrier: over.carrier ?? 'twilio', runtimeId: over.runtimeId ?? 'rt-1' },
    at,
  );

describe('resuming the media stream of a carried call', () => {
  it('accepts a fresh token once, on the runtime carrying the call, and uses it up', async () => {
    const callId = await carriedCall();
    const token = (await issueMediaToken(fixture.db, callId, later(1000)))!;
    await resume(callId, token, later(2000));
    expect(await rowOf(callId)).toMatchObject({
      status: 'in_progress',
      runtimeId: 'rt-1',
      mediaTokenHash: null,
      mediaTokenExpiresAt: null,
    });
    // Replayed: refused.
    await expect(resume(callId, token, later(2500))).rejects.toSatisfy(isRefusal);
  });

  it('refuses a forged token, another carrier or runtime, and an expired token alike', async () => {
    const callId = await carriedCall();
    const token = (await issueMediaToken(fixture.db, callId, later(1000)))!;
    const attempts = [
      () => resume(callId, 'forged', later(2000)),
      () => resume(callId, token, later(2000), { carrier: 'telnyx' }),
      () => resume(callId, token, later(2000), { runtimeId: 'rt-2' }),
      () => resume(callId, token, later(1000 + MEDIA_TOKEN_TTL_MS + 1)),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toSatisfy(isRefusal);
    // None of them used the token up.
    await resume(callId, token, later(2000));
  });

  it('refuses a call no runtime carries yet, and a resume token never claims a carried call', async () => {
    const ringing = await ringingCall();
    const first = (await issueMediaToken(fixture.db, ringing, NOW))!;
    await expect(resume(ringing, first, later(10))).rejects.toSatisfy(isRefusal);

    const carried = await carriedCall();
    const token = (await issueMediaToken(fixture.db, carried, later(1000)))!;
    await expect(
      claimCallMedia(
        fixture.db,
        { callId: carried, mediaToken: token, carrier: 'twilio', runtimeId: 'rt-2', simulated: false },
        later(2000),
      ),
    ).rejects.toSatisfy(isRefusal);
    expect(await rowOf(carried)).toMatchObject({ runtimeId: 'rt-1', status: 'in_progress' });
  });

  it('refuses a call that has ended', async () => {
    const callId = await carriedCall();
    const token = (await issueMediaToken(fixture.db, callId, later(1000)))!;
    await fixture.db
      .update(calls)
      .set({ status: 'completed', endedAt: later(1500) })
      .where(eq(calls.id, callId));
    await expect(resume(callId, token, later(2000))).rejects.toSatisfy(isRefusal);
  });

  it('never resumes a simulated call: only a carrier’s own route resumes a stream', async () => {
    const callId = await fixture.newCall({
      createdAt: NOW,
      updatedAt: NOW,
      status: 'in_progress',
      runtimeId: 'rt-1',
      simulation: { llm: 'http://127.0.0.1:1/v1' },
    });
    const token = (await issueMediaToken(fixture.db, callId, later(1000)))!;
    await expect(resume(callId, token, later(2000))).rejects.toSatisfy(isRefusal);
    // Refused before the token was used: it is still the call's.
    expect((await rowOf(callId)).mediaTokenHash).not.toBeNull();
  });
});
