import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from '@parley/db';
import { testDatabaseKind } from '@parley/db/testing';
import {
  auditLog,
  callEvents,
  calls,
  eq,
  organizations,
  transcriptTurns,
  webhookDeliveries,
  webhookEndpoints,
} from '@parley/db';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { PURGE_LOCK_KEY, purgeExpiredCallData } from './purge-expired-call-data.js';

let fixture: CallsFixture;
let dir: string;
const NOW = new Date('2026-11-21T10:00:00Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

beforeAll(async () => {
  fixture = await createCallsFixture();
  dir = mkdtempSync(path.join(tmpdir(), 'parley-retention-'));
});
afterAll(async () => {
  await fixture?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A completed call of `organizationId` ended `days` ago, with a recording, a transcript and events. */
async function endedCall(organizationId: string, days: number, name: string) {
  const recordingPath = path.join(dir, `${name}.wav`);
  writeFileSync(recordingPath, 'RIFF');
  const id = await fixture.newCall({
    organizationId,
    status: 'completed',
    createdAt: new Date(daysAgo(days).getTime() - 60_000),
    endedAt: daysAgo(days),
    recordingPath,
    recordingDurationMs: 60_000,
  });
  await fixture.db.insert(transcriptTurns).values([
    { callId: id, organizationId, seq: 1, role: 'user', text: 'My card is 4111', atMs: 1000 },
    { callId: id, organizationId, seq: 2, role: 'agent', text: 'Thank you', atMs: 2000 },
  ]);
  await fixture.db.insert(callEvents).values(
    [
      { type: 'call.started', data: {} },
      { type: 'user.turn', data: { turnId: 1, text: 'My card is 4111' } },
      { type: 'tool.called', data: { name: 'lookup', arguments: '{"card":"4111"}' } },
      { type: 'agent.speech.ended', data: { turnId: 1, text: 'Thank you' } },
      { type: 'control.say', data: { chars: 24, interrupt: true, hangUpAfter: false } },
      { type: 'call.ended', data: { reason: 'caller_hung_up', durationMs: 60_000 } },
    ].map((event, index) => ({ ...event, callId: id, organizationId, seq: index + 1, atMs: index * 1000 })),
  );
  return { id, recordingPath };
}

async function stateOf(call: { id: string; recordingPath: string }) {
  const [row] = await fixture.db.select().from(calls).where(eq(calls.id, call.id));
  const turns = await fixture.db.select().from(transcriptTurns).where(eq(transcriptTurns.callId, call.id));
  const events = await fixture.db
    .select({ type: callEvents.type })
    .from(callEvents)
    .where(eq(callEvents.callId, call.id))
    .orderBy(callEvents.seq);
  return {
    file: existsSync(call.recordingPath),
    recordingPath: row!.recordingPath,
    recordingDurationMs: row!.recordingDurationMs,
    turns: turns.length,
    events: events.map((e) => e.type),
  };
}

const ALL_EVENTS = [
  'call.started',
  'user.turn',
  'tool.called',
  'agent.speech.ended',
  'control.say',
  'call.ended',
];

it('purges recordings and transcripts past each retention, once, and records the counts', async () => {
  const orgId = fixture.organizationId;
  await fixture.db
    .update(organizations)
    .set({ recordingRetentionDays: 30, transcriptRetentionDays: 7 })
    .where(eq(organizations.id, orgId));
  const [other] = await fixture.db.insert(organizations).values({ name: 'Keeps all' }).returning();

  const old = await endedCall(orgId, 40, 'old');
  const recent = await endedCall(orgId, 10, 'recent');
  const fresh = await endedCall(orgId, 2, 'fresh');
  const othersOld = await endedCall(other!.id, 400, 'others-old');
  // Never ended, created 40 days ago: judged by its creation.
  const neverEnded = await fixture.newCall({
    organizationId: orgId,
    status: 'failed',
    createdAt: daysAgo(40),
  });
  await fixture.db.insert(transcriptTurns).values({
    callId: neverEnded,
    organizationId: orgId,
    seq: 1,
    role: 'user',
    text: 'hello?',
    atMs: 0,
  });

  // Webhook deliveries about the calls carry transcripts: sent ones past the cutoff go, pending ones stay.
  const [endpoint] = await fixture.db
    .insert(webhookEndpoints)
    .values({ organizationId: orgId, url: 'http://hooks.test/', secretKeyId: 'k', secretCiphertext: 'c' })
    .returning();
  const delivery = (callId: string, status: 'succeeded' | 'pending', createdAt: Date) => ({
    endpointId: endpoint!.id,
    organizationId: orgId,
    eventId: crypto.randomUUID(),
    eventType: 'call.ended',
    payload: {
      type: 'call.ended',
      data: { callId, transcript: [{ role: 'user', text: 'My card is 4111' }] },
    },
    status,
    createdAt,
  });
  const [, retrying, recentSent] = await fixture.db
    .insert(webhookDeliveries)
    .values([
      delivery(recent.id, 'succeeded', daysAgo(10)),
      delivery(recent.id, 'pending', daysAgo(10)),
      delivery(fresh.id, 'succeeded', daysAgo(2)),
    ])
    .returning({ id: webhookDeliveries.id });

  const first = await purgeExpiredCallData(fixture.db, { now: NOW, batchSize: 2 });

  expect(await stateOf(old)).toEqual({
    file: false,
    recordingPath: null,
    recordingDurationMs: null,
    turns: 0,
    events: ['call.started', 'control.say', 'call.ended'],
  });
  expect(await stateOf(recent)).toEqual({
    file: true,
    recordingPath: recent.recordingPath,
    recordingDurationMs: 60_000,
    turns: 0,
    events: ['call.started', 'control.say', 'call.ended'],
  });
  const untouched = (call: { recordingPath: string }) => ({
    file: true,
    recordingPath: call.recordingPath,
    recordingDurationMs: 60_000,
    turns: 2,
    events: ALL_EVENTS,
  });
  expect(await stateOf(fresh)).toEqual(untouched(fresh));
  expect(await stateOf(othersOld)).toEqual(untouched(othersOld));
  expect(
    await fixture.db.select().from(transcriptTurns).where(eq(transcriptTurns.callId, neverEnded)),
  ).toEqual([]);
  const deliveries = await fixture.db.select({ id: webhookDeliveries.id }).from(webhookDeliveries);
  expect(deliveries.map((d) => d.id).sort()).toEqual([retrying!.id, recentSent!.id].sort());

  expect(first).toEqual({
    busy: false,
    organizations: [
      { organizationId: orgId, recordingsPurged: 1, transcriptsPurged: 3, webhookDeliveriesPurged: 1 },
    ],
  });
  const audits = () => fixture.db.select().from(auditLog).where(eq(auditLog.action, 'retention.purge'));
  const [row] = await audits();
  expect(row).toMatchObject({
    organizationId: orgId,
    actorType: 'system',
    targetId: orgId,
    details: {
      recordingsPurged: 1,
      transcriptsPurged: 3,
      webhookDeliveriesPurged: 1,
      recordingCutoff: daysAgo(30).toISOString(),
      transcriptCutoff: daysAgo(7).toISOString(),
    },
  });

  // A second run finds nothing left, and records nothing.
  const second = await purgeExpiredCallData(fixture.db, { now: NOW });
  expect(second.organizations).toEqual([
    { organizationId: orgId, recordingsPurged: 0, transcriptsPurged: 0, webhookDeliveriesPurged: 0 },
  ]);
  expect(await audits()).toHaveLength(1);
  expect(await stateOf(recent)).toMatchObject({ file: true, turns: 0 });
});

it('treats a recording file already gone as purged', async () => {
  const [org] = await fixture.db
    .insert(organizations)
    .values({ name: 'Gone', recordingRetentionDays: 1 })
    .returning();
  const call = await endedCall(org!.id, 5, 'gone');
  rmSync(call.recordingPath);

  const result = await purgeExpiredCallData(fixture.db, { now: NOW });

  expect(result.organizations.find((o) => o.organizationId === org!.id)).toMatchObject({
    recordingsPurged: 1,
    transcriptsPurged: 0,
  });
  expect(await stateOf(call)).toMatchObject({ recordingPath: null, turns: 2, events: ALL_EVENTS });
});

it.runIf(testDatabaseKind() === 'postgres')('leaves the work to the process already purging', async () => {
  const [org] = await fixture.db
    .insert(organizations)
    .values({ name: 'Busy', transcriptRetentionDays: 1 })
    .returning();
  const call = await endedCall(org!.id, 5, 'busy');
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  // Another process in the middle of a batch: it holds the purge lock.
  const other = fixture.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${PURGE_LOCK_KEY})`);
    locked();
    await held;
  });
  await lockTaken;
  try {
    const result = await purgeExpiredCallData(fixture.db, { now: NOW });
    expect(result.busy).toBe(true);
    expect(await stateOf(call)).toMatchObject({ turns: 2 });
  } finally {
    release();
    await other;
  }
  expect((await purgeExpiredCallData(fixture.db, { now: NOW })).busy).toBe(false);
  expect(await stateOf(call)).toMatchObject({ turns: 0 });
});
