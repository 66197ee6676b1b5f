import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asc, callEvents, calls, eq, runtimes, transcriptTurns } from '@parley/db';
import { createCallsFixture, type CallFields, type CallsFixture } from '../testing/calls-fixture.js';
import { CallJournal } from './call-journal.js';
import { heartbeatRuntime, registerRuntime, sweepLostCalls } from './runtime-registry.js';

let fixture: CallsFixture;

beforeAll(async () => {
  fixture = await createCallsFixture();
});
afterAll(() => fixture.close());

/** An inbound call in progress, unless `fields` say otherwise. */
const newCall = (fields: CallFields = {}) =>
  fixture.newCall({ direction: 'inbound', status: 'in_progress', ...fields });
/** The call as its runtime's journal knows it. */
const callOf = (id: string) => ({ id, organizationId: fixture.organizationId });

const eventsOf = (callId: string) =>
  fixture.db.select().from(callEvents).where(eq(callEvents.callId, callId)).orderBy(asc(callEvents.seq));
const turnsOf = (callId: string) =>
  fixture.db
    .select()
    .from(transcriptTurns)
    .where(eq(transcriptTurns.callId, callId))
    .orderBy(asc(transcriptTurns.seq));

describe('the call journal', () => {
  it('writes events in order and the transcript as turns, without interim words', async () => {
    const callId = await newCall();
    const journal = new CallJournal(fixture.db, callOf(callId), { flushIntervalMs: 60_000 });
    journal.record({
      seq: 1,
      atMs: 0,
      type: 'call.started',
      inputFormat: 'mulaw/8000',
      outputFormat: 'mulaw/8000',
    });
    journal.record({
      seq: 2,
      atMs: 1200,
      type: 'agent.speech.ended',
      turnId: 0,
      text: 'Hello, how can I help?',
    });
    journal.record({ seq: 3, atMs: 2100, type: 'transcript.interim', text: 'what time' });
    journal.record({ seq: 4, atMs: 2900, type: 'user.turn', turnId: 1, text: 'what time do you open' });
    journal.record({
      seq: 5,
      atMs: 4000.6,
      type: 'agent.speech.interrupted',
      turnId: 1,
      heardText: 'We open at nine',
      fullText: 'We open at nine and close at five.',
    });
    expect(await eventsOf(callId)).toEqual([]);
    await journal.flush();
    const events = await eventsOf(callId);
    expect(events.map((e) => [e.seq, e.type, e.atMs])).toEqual([
      [1, 'call.started', 0],
      [2, 'agent.speech.ended', 1200],
      [4, 'user.turn', 2900],
      [5, 'agent.speech.interrupted', 4001],
    ]);
    expect(events[2]!.data).toEqual({ turnId: 1, text: 'what time do you open' });
    expect((await turnsOf(callId)).map((t) => [t.role, t.text, t.interrupted])).toEqual([
      ['agent', 'Hello, how can I help?', false],
      ['user', 'what time do you open', false],
      ['agent', 'We open at nine', true],
    ]);
  });

  it('writes buffered events by itself within the flush interval', async () => {
    const callId = await newCall();
    const journal = new CallJournal(fixture.db, callOf(callId), { flushIntervalMs: 20 });
    journal.record({ seq: 1, atMs: 0, type: 'call.started', inputFormat: 'x', outputFormat: 'y' });
    await vi.waitFor(async () => expect(await eventsOf(callId)).toHaveLength(1), { timeout: 5000 });
  });

  it('closing writes the last events, then the outcome on the call row', async () => {
    const callId = await newCall();
    const journal = new CallJournal(fixture.db, callOf(callId), { flushIntervalMs: 60_000 });
    journal.record({ seq: 1, atMs: 0, type: 'call.started', inputFormat: 'x', outputFormat: 'y' });
    journal.record({ seq: 2, atMs: 9000, type: 'call.ended', reason: 'caller_hung_up', durationMs: 9000 });
    const endedAt = new Date('2026-11-21T10:00:09Z');
    await journal.close({
      status: 'completed',
      endReason: 'caller_hung_up',
      endedAt,
      recordingPath: 'recordings/x.wav',
      recordingDurationMs: 9000,
    });
    expect(await eventsOf(callId)).toHaveLength(2);
    const [row] = await fixture.db.select().from(calls).where(eq(calls.id, callId));
    expect(row).toMatchObject({
      status: 'completed',
      endReason: 'caller_hung_up',
      endedAt,
      recordingPath: 'recordings/x.wav',
      recordingDurationMs: 9000,
    });
  });

  it('closing writes events that arrive while the last ones are being written, then closes the call', async () => {
    const callId = await newCall();
    let late: (() => void) | null = () => {
      // The caller's last words land just as the final write has taken the buffer.
      journal.record({ seq: 3, atMs: 9100, type: 'user.turn', turnId: 2, text: 'bye then' });
    };
    // The database as the journal sees it: the first transaction lets the late event in first.
    const racingDb = new Proxy(fixture.db, {
      get(target, property, receiver) {
        if (property !== 'transaction') return Reflect.get(target, property, receiver);
        return (...args: Parameters<typeof target.transaction>) => {
          const arrive = late;
          late = null;
          arrive?.();
          return target.transaction(...args);
        };
      },
    });
    const journal = new CallJournal(racingDb, callOf(callId), { flushIntervalMs: 60_000 });
    journal.record({ seq: 1, atMs: 0, type: 'call.started', inputFormat: 'x', outputFormat: 'y' });
    journal.record({ seq: 2, atMs: 9000, type: 'call.ended', reason: 'caller_hung_up', durationMs: 9000 });
    await journal.close({ status: 'completed', endReason: 'caller_hung_up', endedAt: new Date() });
    expect((await eventsOf(callId)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await turnsOf(callId)).map((t) => t.text)).toEqual(['bye then']);
    const [row] = await fixture.db.select().from(calls).where(eq(calls.id, callId));
    expect(row).toMatchObject({ status: 'completed', endReason: 'caller_hung_up' });
  });

  it('keeps events whose write failed and writes them at the next flush', async () => {
    const callId = await newCall();
    const errors: unknown[] = [];
    const journal = new CallJournal(fixture.db, callOf(callId), {
      flushIntervalMs: 60_000,
      onWriteError: (error) => errors.push(error),
    });
    // The call row is briefly gone (as if not yet committed): the foreign key refuses the events.
    await fixture.db
      .update(calls)
      .set({ id: '0190a0a0-0000-7000-8000-00000000dead' })
      .where(eq(calls.id, callId));
    journal.record({ seq: 1, atMs: 0, type: 'call.started', inputFormat: 'x', outputFormat: 'y' });
    await journal.flush();
    expect(errors).toHaveLength(1);
    await fixture.db
      .update(calls)
      .set({ id: callId })
      .where(eq(calls.id, '0190a0a0-0000-7000-8000-00000000dead'));
    journal.record({ seq: 2, atMs: 100, type: 'dtmf', digit: '5' });
    await journal.flush();
    expect((await eventsOf(callId)).map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('lost runtimes', () => {
  it('closes the live calls of a runtime that stopped heartbeating, and only those', async () => {
    const start = new Date('2026-11-21T10:00:00Z');
    await registerRuntime(fixture.db, 'rt-dead', start);
    await registerRuntime(fixture.db, 'rt-alive', start);
    const later = new Date(start.getTime() + 60_000);
    await heartbeatRuntime(fixture.db, 'rt-alive', later);
    const lost = await newCall({ runtimeId: 'rt-dead' });
    const ringingLost = await newCall({ runtimeId: 'rt-dead', status: 'ringing' });
    const unknownRuntime = await newCall({ runtimeId: 'rt-never-registered' });
    const alive = await newCall({ runtimeId: 'rt-alive' });
    const finished = await newCall({
      runtimeId: 'rt-dead',
      status: 'completed',
      endReason: 'caller_hung_up',
    });
    const queued = await newCall({ status: 'queued' });

    const closed = await sweepLostCalls(fixture.db, { now: later, staleAfterMs: 30_000 });
    expect(closed.sort()).toEqual([lost, ringingLost, unknownRuntime].sort());
    const statusOf = async (id: string) =>
      (await fixture.db.select().from(calls).where(eq(calls.id, id)))[0]!;
    expect(await statusOf(lost)).toMatchObject({
      status: 'failed',
      endReason: 'runtime_lost',
      endedAt: later,
    });
    expect(await statusOf(alive)).toMatchObject({ status: 'in_progress', endReason: null });
    expect(await statusOf(finished)).toMatchObject({ status: 'completed', endReason: 'caller_hung_up' });
    expect(await statusOf(queued)).toMatchObject({ status: 'queued' });
    expect((await fixture.db.select().from(runtimes)).map((r) => r.id)).toEqual(['rt-alive']);
    expect(await sweepLostCalls(fixture.db, { now: later, staleAfterMs: 30_000 })).toEqual([]);
  });

  it('keeps a silent draining runtime’s drain through a stall, and forgets it after an hour', async () => {
    const start = new Date('2026-11-21T12:00:00Z');
    await registerRuntime(fixture.db, 'rt-stalled', start);
    await fixture.db.update(runtimes).set({ draining: true }).where(eq(runtimes.id, 'rt-stalled'));
    const drainingOf = async () =>
      (await fixture.db.select().from(runtimes).where(eq(runtimes.id, 'rt-stalled')))[0]?.draining;
    // Silent for a minute: its calls are swept, but the row (and the operator's drain) stays...
    await sweepLostCalls(fixture.db, { now: new Date(start.getTime() + 60_000), staleAfterMs: 30_000 });
    expect(await drainingOf()).toBe(true);
    // ...so when it comes back, it still takes no new calls.
    await registerRuntime(fixture.db, 'rt-stalled', new Date(start.getTime() + 90_000));
    expect(await drainingOf()).toBe(true);
    // A draining runtime that never comes back leaves the list after an hour.
    await sweepLostCalls(fixture.db, { now: new Date(start.getTime() + 2 * 3600_000), staleAfterMs: 30_000 });
    expect(await drainingOf()).toBeUndefined();
  });
});
