import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceError } from '../errors.js';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { MEDIA_TOKEN_TTL_MS } from './begin-inbound-call.js';
import { claimCallMedia } from './claim-call-media.js';
import { issueMediaToken } from './issue-media-token.js';
import { DIALED_MEDIA_TOKEN_TTL_MS } from './sweep-unanswered-calls.js';

let fixture: CallsFixture;
const NOW = new Date('2026-11-21T10:00:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);
/** Answered after ringing longer than a token issued at the answer would live. */
const LATE_ANSWER_MS = MEDIA_TOKEN_TTL_MS + 30_000;

beforeAll(async () => {
  fixture = await createCallsFixture();
});
afterAll(() => fixture.close());

/** An outbound Telnyx call being placed: its media token goes to the carrier with the dial. */
const newDialedCall = () =>
  fixture.newCall({ transport: 'telnyx', status: 'queued', createdAt: NOW, updatedAt: NOW });

const answer = (callId: string, mediaToken: string, at: Date) =>
  claimCallMedia(
    fixture.db,
    { callId, mediaToken, carrier: 'telnyx', runtimeId: 'rt-1', simulated: false },
    at,
  );

describe('a media token issued when the call is placed', () => {
  it('with a lifetime covering the ringing, connects a callee who answers late', async () => {
    const callId = await newDialedCall();
    const token = await issueMediaToken(fixture.db, callId, NOW, { lifetimeMs: DIALED_MEDIA_TOKEN_TTL_MS });
    const claimed = await answer(callId, token!, later(LATE_ANSWER_MS));
    expect(claimed.call).toMatchObject({ status: 'in_progress', answeredAt: later(LATE_ANSWER_MS) });
  });

  it('with the default lifetime, refuses that callee', async () => {
    const callId = await newDialedCall();
    const token = await issueMediaToken(fixture.db, callId, NOW);
    await expect(answer(callId, token!, later(LATE_ANSWER_MS))).rejects.toSatisfy(
      (error) => error instanceof ServiceError && error.code === 'forbidden',
    );
    // Within the default lifetime a fresh token connects.
    const fresh = await issueMediaToken(fixture.db, callId, later(LATE_ANSWER_MS));
    await expect(answer(callId, fresh!, later(LATE_ANSWER_MS + 1000))).resolves.toBeDefined();
  });

  it('refuses a lifetime that is not a positive number, naming it', async () => {
    const callId = await newDialedCall();
    await expect(issueMediaToken(fixture.db, callId, NOW, { lifetimeMs: 0 })).rejects.toThrow(/lifetimeMs/);
    await expect(issueMediaToken(fixture.db, callId, NOW, { lifetimeMs: Number.NaN })).rejects.toThrow(
      /lifetimeMs/,
    );
  });
});
