import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { calls, eq, queryRows, sql } from '@parley/db';
import { testDatabaseKind } from '@parley/db/testing';
import { ServiceError } from '../errors.js';
import { createCallsFixture, type CallFields, type CallsFixture } from '../testing/calls-fixture.js';
import { applyCarrierStatus } from './apply-carrier-status.js';
import { checkCallLimits, lockOrganizationForCalls } from './check-call-limits.js';
import { issueMediaToken } from './issue-media-token.js';
import { sweepUnansweredCalls } from './sweep-unanswered-calls.js';

let fixture: CallsFixture;
const NOW = new Date('2026-11-21T10:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const MINUTE = 60_000;

beforeAll(async () => {
  fixture = await createCallsFixture();
});
afterAll(() => fixture.close());
// The sweep looks at every organization's calls: each test starts from none.
beforeEach(() => fixture.db.delete(calls));

/** An outbound call last changed `lastChangedMsAgo` before NOW (created then too, unless given). */
const newCall = (lastChangedMsAgo: number, fields: CallFields = {}) =>
  fixture.newCall({
    transport: 'telnyx',
    createdAt: ago(lastChangedMsAgo),
    updatedAt: ago(lastChangedMsAgo),
    ...fields,
  });

const rowOf = async (id: string) => (await fixture.db.select().from(calls).where(eq(calls.id, id)))[0]!;
const sweep = () => sweepUnansweredCalls(fixture.db, { now: NOW });

describe('calls that never get past ringing', () => {
  it('closes a queued call that never reached its carrier as dial_lost', async () => {
    const lost = await newCall(3 * MINUTE, { status: 'queued' });
    const dialing = await newCall(30_000, { status: 'queued' });

    expect(await sweep()).toEqual({ dialLost: [lost], noStatusFromCarrier: [] });
    expect(await rowOf(lost)).toMatchObject({ status: 'failed', endReason: 'dial_lost', endedAt: NOW });
    expect(await rowOf(dialing)).toMatchObject({ status: 'queued', endReason: null, endedAt: null });
  });

  it('closes a call the carrier went silent about, keeping the carrier’s last words', async () => {
    const ringing = await newCall(4 * MINUTE, { carrierCallId: 'v3:a', carrierReason: 'ringing' });
    // Placed, but the carrier never even said it was ringing.
    const placed = await newCall(4 * MINUTE, { status: 'queued', carrierCallId: 'v3:b' });
    // An inbound call whose carrier never opened the media socket.
    const inbound = await newCall(4 * MINUTE, { direction: 'inbound', carrierCallId: 'v3:c' });

    const swept = await sweep();
    expect(swept.dialLost).toEqual([]);
    expect(swept.noStatusFromCarrier.sort()).toEqual([ringing, placed, inbound].sort());
    expect(await rowOf(ringing)).toMatchObject({
      status: 'failed',
      endReason: 'no_status_from_carrier',
      carrierReason: 'ringing',
      endedAt: NOW,
      updatedAt: NOW,
    });
    expect(await rowOf(placed)).toMatchObject({ status: 'failed', endReason: 'no_status_from_carrier' });
    expect(await sweep()).toEqual({ dialLost: [], noStatusFromCarrier: [] });
  });

  it('leaves calls that may still progress, and calls past ringing, alone', async () => {
    // Created long ago, but the carrier's last callback was a minute ago.
    const recentCallback = await newCall(MINUTE, { createdAt: ago(10 * MINUTE), carrierCallId: 'v3:d' });
    const freshPlaced = await newCall(MINUTE, { status: 'queued', carrierCallId: 'v3:e' });
    const talking = await newCall(30 * MINUTE, { status: 'in_progress', carrierCallId: 'v3:f' });
    const carried = await newCall(30 * MINUTE, { status: 'in_progress', runtimeId: 'rt-1' });
    const over = await newCall(30 * MINUTE, { status: 'no_answer', endReason: 'carrier_no_answer' });

    expect(await sweep()).toEqual({ dialLost: [], noStatusFromCarrier: [] });
    expect(await rowOf(recentCallback)).toMatchObject({ status: 'ringing', endReason: null });
    expect(await rowOf(freshPlaced)).toMatchObject({ status: 'queued', endReason: null });
    expect(await rowOf(talking)).toMatchObject({ status: 'in_progress', endReason: null });
    expect(await rowOf(carried)).toMatchObject({ status: 'in_progress', endReason: null });
    expect(await rowOf(over)).toMatchObject({ status: 'no_answer', endReason: 'carrier_no_answer' });
  });

  it('takes the bounds it is given', async () => {
    const ringing = await newCall(90_000, { carrierCallId: 'v3:g' });
    const queued = await newCall(45_000, { status: 'queued' });
    expect(
      await sweepUnansweredCalls(fixture.db, { now: NOW, dialLostAfterMs: 30_000, ringLostAfterMs: MINUTE }),
    ).toEqual({ dialLost: [queued], noStatusFromCarrier: [ringing] });
    await expect(sweepUnansweredCalls(fixture.db, { now: NOW, ringLostAfterMs: 0 })).rejects.toThrow(
      /ringLostAfterMs/,
    );
  });

  it('a callback that lands while the sweep runs wins', async () => {
    const callId = await newCall(4 * MINUTE, { carrierCallId: 'v3:h' });
    let sweeping: ReturnType<typeof sweep> | undefined;
    await fixture.db.transaction(async (tx) => {
      // The callback: the callee answered (the row is locked until this transaction commits).
      await tx.update(calls).set({ status: 'in_progress', updatedAt: NOW }).where(eq(calls.id, callId));
      sweeping = sweep();
      if (testDatabaseKind() === 'postgres') {
        // The sweep saw the row as ringing and stale in its snapshot and waits for the row's lock;
        // it must re-check the row after the commit. (PGlite runs one statement at a time: the sweep
        // cannot start before the commit there.)
        await vi.waitFor(
          async () => {
            const [waiting] = await queryRows<{ n: number }>(
              fixture.db,
              // Only sessions on this test's database: other test files' transactions may be waiting too
              // (a row-lock wait is on a transaction id, which names no database itself).
              sql`select count(*)::int as n from pg_locks
                  where not granted
                    and pid in (select pid from pg_stat_activity where datname = current_database())`,
            );
            expect(waiting!.n).toBeGreaterThan(0);
          },
          { timeout: 10_000 },
        );
      }
    });
    expect(await sweeping).toEqual({ dialLost: [], noStatusFromCarrier: [] });
    expect(await rowOf(callId)).toMatchObject({ status: 'in_progress', endReason: null, endedAt: null });
  });

  it('a callback arriving after the sweep does not reopen the call', async () => {
    const callId = await newCall(4 * MINUTE, { carrierCallId: 'v3:i' });
    await sweep();
    const late = { carrierCallId: 'v3:i', status: 'in_progress', carrierReason: 'call.answered' };
    expect(await applyCarrierStatus(fixture.db, 'telnyx', late, NOW)).toMatchObject({ status: 'failed' });
    expect(await rowOf(callId)).toMatchObject({ status: 'failed', endReason: 'no_status_from_carrier' });
    // The callee who answers now is not connected to an agent.
    expect(await issueMediaToken(fixture.db, callId, NOW)).toBeNull();
  });

  it('frees the line the stuck call held', async () => {
    const limits = { maxConcurrentCalls: 1, callsPerMinute: 60 };
    await newCall(3 * MINUTE, { status: 'queued' });
    const placeAnother = () =>
      fixture.db.transaction(async (tx) => {
        await lockOrganizationForCalls(tx, fixture.organizationId);
        await checkCallLimits(tx, fixture.organizationId, limits, NOW);
      });
    await expect(placeAnother()).rejects.toSatisfy(
      (error) => error instanceof ServiceError && error.code === 'too_many_calls',
    );
    await sweep();
    await expect(placeAnother()).resolves.toBeUndefined();
  });
});
