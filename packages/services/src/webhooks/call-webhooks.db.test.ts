// A call's life reaches customers' endpoints: status changes from the carrier and the media claim,
// each final transcript turn and tool call as the journal writes them, and the end-of-call report
// (transcript, durations, end reason, latency, a signed recording link) when the call closes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asc, calls, eq, webhookDeliveries, webhookEndpoints } from '@parley/db';
import { CreateWebhookEndpointBody } from '@parley/contracts';
import { operatorOrgContext } from '../admin/system.js';
import { applyCarrierStatus } from '../calls/apply-carrier-status.js';
import { CallJournal } from '../calls/call-journal.js';
import { sweepUnansweredCalls } from '../calls/sweep-unanswered-calls.js';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { startTestReceiver, type TestReceiver } from '../testing/webhook-receiver.js';
import { createWebhookEndpoint } from './create-webhook-endpoint.js';
import { deliverDueWebhooks } from './deliver-due-webhooks.js';
import { RecordingLinks } from './recording-links.js';
import { verifyWebhookSignature } from './signature.js';

let fixture: CallsFixture;
let receiver: TestReceiver;
let secret: string;
const now = new Date('2026-03-01T12:00:00Z');

beforeAll(async () => {
  fixture = await createCallsFixture();
  receiver = await startTestReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await fixture?.close();
});
beforeEach(async () => {
  await fixture.db.delete(webhookEndpoints);
  receiver.received.length = 0;
  const acme = await operatorOrgContext(fixture.system, fixture.organizationId);
  ({ secret } = await createWebhookEndpoint(acme, CreateWebhookEndpointBody.parse({ url: receiver.url() })));
});

type Queued = { type: string; data: Record<string, unknown> };

/** The queued events, by type (events of one moment have no order among themselves). */
async function queued(): Promise<Queued[]> {
  const rows = await fixture.db.select().from(webhookDeliveries).orderBy(asc(webhookDeliveries.id));
  return rows.map((row) => row.payload as Queued);
}
const typesOf = (events: Queued[]) => events.map((e) => e.type).sort();
const ofType = (events: Queued[], type: string) => events.filter((e) => e.type === type).map((e) => e.data);

describe('call events for webhooks', () => {
  it('a carried call that finishes produces status, transcript, tool and end-of-call events', async () => {
    const callId = await fixture.newCall({
      status: 'in_progress',
      answeredAt: now,
      createdAt: new Date(now.getTime() - 5_000),
    });
    const journal = new CallJournal(
      fixture.db,
      { id: callId, organizationId: fixture.organizationId },
      {
        flushIntervalMs: 60_000,
        now: () => now,
      },
    );
    journal.record({ seq: 1, atMs: 100, type: 'user.turn', turnId: 1, text: 'Book a table' });
    journal.record({
      seq: 2,
      atMs: 200,
      type: 'tool.called',
      turnId: 1,
      toolCallId: 't1',
      name: 'book',
      arguments: '{"people":2}',
    });
    journal.record({
      seq: 3,
      atMs: 300,
      type: 'tool.result',
      turnId: 1,
      toolCallId: 't1',
      name: 'book',
      status: 'ok',
      content: 'ok',
      durationMs: 80,
    });
    journal.record({ seq: 4, atMs: 400, type: 'agent.speech.ended', turnId: 1, text: 'Done, see you.' });
    await journal.recordingStarted('/tmp/recordings/call.wav');
    await journal.close({
      status: 'completed',
      endReason: 'caller_hung_up',
      endedAt: new Date(now.getTime() + 60_000),
      recordingDurationMs: 60_000,
      latency: { turns: 1 },
    });

    const events = await queued();
    expect(typesOf(events)).toEqual([
      'call.ended',
      'call.status_changed',
      'call.tool_called',
      'call.transcript',
      'call.transcript',
    ]);
    const turns = ofType(events, 'call.transcript').sort((a, b) => Number(a.seq) - Number(b.seq));
    expect(turns).toMatchObject([
      { callId, role: 'user', text: 'Book a table', seq: 1 },
      { callId, role: 'agent', text: 'Done, see you.', seq: 2 },
    ]);
    expect(ofType(events, 'call.tool_called')[0]).toMatchObject({
      name: 'book',
      arguments: { people: 2 },
      status: 'ok',
      durationMs: 80,
    });
    expect(ofType(events, 'call.status_changed')).toMatchObject([
      { callId, previousStatus: 'in_progress', status: 'completed' },
    ]);
    expect(ofType(events, 'call.ended')[0]).toMatchObject({
      callId,
      status: 'completed',
      endReason: 'caller_hung_up',
      durations: { totalMs: 65_000, talkMs: 60_000 },
      transcript: [
        { role: 'user', text: 'Book a table' },
        { role: 'agent', text: 'Done, see you.' },
      ],
      latency: { turns: 1 },
      recording: { durationMs: 60_000, url: null },
      analysis: null,
    });

    // Sent signed, with a fresh signed link to the recording.
    const links = new RecordingLinks('an instance secret', () => 'https://parley.example');
    const sentAt = new Date(now.getTime() + 61_000);
    await deliverDueWebhooks(fixture.db, fixture.system.secretBox, {
      allowedHosts: receiver.allowedHosts,
      now: () => sentAt,
      recordingLinks: links,
    });
    expect(receiver.received).toHaveLength(5);
    const ended = receiver.received.find((r) => r.headers['parley-event-type'] === 'call.ended')!;
    expect(
      verifyWebhookSignature(secret, ended.headers['parley-signature'] as string, ended.body, sentAt).valid,
    ).toBe(true);
    const url = new URL(
      (JSON.parse(ended.body) as { data: { recording: { url: string } } }).data.recording.url,
    );
    expect(url.pathname).toBe(`/api/v1/recordings/${callId}`);
    expect(
      links.verify(callId, url.searchParams.get('expires'), url.searchParams.get('signature'), sentAt),
    ).toBe(true);
  });

  it('a call the carrier answers busy produces a status change and an end-of-call report', async () => {
    const callId = await fixture.newCall({ carrierCallId: 'CA-busy' });
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-busy', status: 'busy', carrierReason: 'busy' },
      now,
    );
    const events = await queued();
    expect(typesOf(events)).toEqual(['call.ended', 'call.status_changed']);
    expect(ofType(events, 'call.status_changed')[0]).toMatchObject({
      callId,
      previousStatus: 'ringing',
      status: 'busy',
      endReason: 'carrier_busy',
    });
    expect(ofType(events, 'call.ended')[0]).toMatchObject({
      callId,
      status: 'busy',
      transcript: [],
      recording: null,
    });
    // A repeated callback changes nothing and says nothing.
    await applyCarrierStatus(
      fixture.db,
      'twilio',
      { carrierCallId: 'CA-busy', status: 'busy', carrierReason: 'busy' },
      now,
    );
    expect(await queued()).toHaveLength(2);
  });

  it('a call the sweep closes produces its events with the status it had', async () => {
    const callId = await fixture.newCall({
      status: 'queued',
      createdAt: new Date(now.getTime() - 3_600_000),
    });
    await sweepUnansweredCalls(fixture.db, { now });
    const [row] = await fixture.db.select().from(calls).where(eq(calls.id, callId));
    expect(row!.status).toBe('failed');
    const events = await queued();
    expect(typesOf(events)).toEqual(['call.ended', 'call.status_changed']);
    expect(ofType(events, 'call.status_changed')).toMatchObject([
      { callId, previousStatus: 'queued', status: 'failed', endReason: 'dial_lost' },
    ]);
  });
});
