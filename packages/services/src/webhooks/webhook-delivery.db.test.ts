// Customer webhooks end to end against a real HTTP receiver on 127.0.0.1: events are queued for the
// endpoints that want them, signed, retried on a growing schedule until they succeed (every attempt
// logged), abandoned after the schedule, the endpoint disabled after sustained failure (with a
// notification to the organization's other endpoints), replayed by hand, and never shown across
// organizations. The clock is injected: no test waits for a retry.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditLog, eq, webhookDeliveries, webhookEndpoints } from '@parley/db';
import { CreateWebhookEndpointBody } from '@parley/contracts';
import type { OrgContext } from '../context.js';
import { createOrganizationsFixture, type OrganizationsFixture } from '../testing/organizations-fixture.js';
import { startTestReceiver, type TestReceiver } from '../testing/webhook-receiver.js';
import { createWebhookEndpoint } from './create-webhook-endpoint.js';
import { deliverDueWebhooks, type WebhookDeliveryOptions } from './deliver-due-webhooks.js';
import { deleteWebhookEndpoint } from './delete-webhook-endpoint.js';
import { enqueueWebhookEvent } from './enqueue-webhook-event.js';
import { listWebhookDeliveries } from './list-webhook-deliveries.js';
import { replayWebhookDelivery } from './replay-webhook-delivery.js';
import { WEBHOOK_MAX_ATTEMPTS } from './retry-schedule.js';
import { verifyWebhookSignature } from './signature.js';
import { testWebhookEndpoint } from './test-webhook-endpoint.js';

let fixture: OrganizationsFixture;
let acme: OrgContext;
let globex: OrgContext;
let receiver: TestReceiver;
let clock: Date;

beforeAll(async () => {
  fixture = await createOrganizationsFixture();
  acme = await fixture.organization('Acme');
  globex = await fixture.organization('Globex');
  receiver = await startTestReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await fixture?.close();
});

beforeEach(async () => {
  // Each test starts with no endpoints (their deliveries go with them) and a fresh receiver log.
  await fixture.db.delete(webhookEndpoints);
  receiver.received.length = 0;
  receiver.answer(200);
  receiver.answerBy(null);
  clock = new Date('2026-03-01T12:00:00Z');
});

const options = (): WebhookDeliveryOptions => ({
  allowedHosts: receiver.allowedHosts,
  now: () => clock,
  random: () => 0.5, // no jitter: delays are the schedule's own
  onError: (error) => {
    throw error;
  },
});
const deliver = () => deliverDueWebhooks(fixture.db, acme.secretBox, options());
const at = (ms: number) => new Date(clock.getTime() + ms);

function endpoint(ctx: OrgContext, input: { eventTypes?: string[]; path?: string } = {}) {
  return createWebhookEndpoint(
    ctx,
    CreateWebhookEndpointBody.parse({ url: receiver.url(input.path), eventTypes: input.eventTypes ?? [] }),
  );
}

const statusChanged = (ctx: OrgContext, callId = 'call-1') =>
  enqueueWebhookEvent(fixture.db, {
    organizationId: ctx.organizationId,
    type: 'call.status_changed',
    occurredAt: clock,
    data: { callId, status: 'in_progress', previousStatus: 'ringing' },
  });

async function deliveriesOf(ctx: OrgContext, endpointId: string) {
  return (await listWebhookDeliveries(ctx, endpointId, { limit: 100 })).data;
}

/** Runs the worker at each failed delivery's next attempt until none is waiting; the rounds it took. */
async function runUntilSettled(extra: Partial<WebhookDeliveryOptions> = {}): Promise<number> {
  let rounds = 0;
  for (;;) {
    await deliverDueWebhooks(fixture.db, acme.secretBox, { ...options(), ...extra });
    const [next] = await fixture.db
      .select({ at: webhookDeliveries.nextAttemptAt })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.status, 'failed'));
    if (!next?.at) return rounds;
    clock = next.at;
    rounds++;
  }
}

function expectSigned(secret: string, delivery: { headers: Record<string, unknown>; body: string }) {
  const verdict = verifyWebhookSignature(
    secret,
    delivery.headers['parley-signature'] as string,
    delivery.body,
    clock,
  );
  expect(verdict.valid).toBe(true);
}

describe('queueing events', () => {
  it('creates one delivery per enabled endpoint that subscribes to the type (none listed: all)', async () => {
    const all = await endpoint(acme);
    const calls = await endpoint(acme, { eventTypes: ['call.status_changed'] });
    const endedOnly = await endpoint(acme, { eventTypes: ['call.ended'] });
    const other = await endpoint(globex);
    await fixture.db
      .update(webhookEndpoints)
      .set({ enabled: false })
      .where(eq(webhookEndpoints.id, calls.id));
    const disabledButSubscribed = calls;
    const live = await endpoint(acme, { eventTypes: ['call.status_changed', 'call.ended'] });

    const ids = await statusChanged(acme);

    expect(ids).toHaveLength(2);
    const rows = await fixture.db.select().from(webhookDeliveries);
    expect(rows.map((r) => r.endpointId).sort()).toEqual([all.id, live.id].sort());
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(1);
    for (const id of [endedOnly.id, other.id, disabledButSubscribed.id]) {
      expect(rows.some((r) => r.endpointId === id)).toBe(false);
    }
    expect(rows[0]!.payload).toMatchObject({
      type: 'call.status_changed',
      createdAt: clock.toISOString(),
      data: { callId: 'call-1', status: 'in_progress' },
    });
  });
});

describe('delivering to a receiver', () => {
  it('retries a failing receiver with growing delays until it succeeds, with the same signed event each time', async () => {
    const created = await endpoint(acme);
    receiver.answer(500, 500, 500, 200);
    await statusChanged(acme);
    const start = clock;

    expect(await deliver()).toEqual({ attempted: 1, succeeded: 0 });
    // Not due again before its delay.
    const first = clock;
    clock = at(29_000);
    expect(await deliver()).toEqual({ attempted: 0, succeeded: 0 });
    clock = first;
    expect(await runUntilSettled()).toBe(3);

    expect(receiver.received).toHaveLength(4);
    const eventIds = receiver.received.map((r) => r.headers['parley-event-id']);
    expect(new Set(eventIds).size).toBe(1);
    const bodies = receiver.received.map((r) => JSON.parse(r.body) as { id: string; type: string });
    expect(bodies.every((b) => b.id === eventIds[0] && b.type === 'call.status_changed')).toBe(true);
    expect(receiver.received[0]!.headers['parley-event-type']).toBe('call.status_changed');
    for (const received of receiver.received) {
      const t = Number(/t=(\d+)/.exec(received.headers['parley-signature'] as string)![1]);
      expect(
        verifyWebhookSignature(
          created.secret,
          received.headers['parley-signature'] as string,
          received.body,
          new Date(t * 1000),
        ).valid,
      ).toBe(true);
    }

    const [delivery] = await deliveriesOf(acme, created.id);
    expect(delivery).toMatchObject({
      status: 'succeeded',
      attempts: 4,
      lastStatus: 200,
      lastErrorCode: null,
    });
    expect(delivery!.attemptLog.map((a) => [a.responseStatus, a.errorCode])).toEqual([
      [500, 'http_500'],
      [500, 'http_500'],
      [500, 'http_500'],
      [200, null],
    ]);
    expect(delivery!.attemptLog[0]!.responseExcerpt).toBe('failed with 500');
    for (const attempt of delivery!.attemptLog) expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    const times = delivery!.attemptLog.map((a) => Date.parse(a.at) - start.getTime());
    expect(times).toEqual([0, 30_000, 90_000, 210_000]);
    const [row] = await fixture.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, created.id));
    expect(row).toMatchObject({ enabled: true, consecutiveFailures: 0, firstFailureAt: null });
  });

  it('abandons a delivery after the whole schedule when the endpoint is not disabled meanwhile', async () => {
    const created = await endpoint(acme);
    receiver.answer(503);
    await statusChanged(acme);
    await runUntilSettled({ disableAfterFailingMs: Number.POSITIVE_INFINITY });

    const [delivery] = await deliveriesOf(acme, created.id);
    expect(delivery).toMatchObject({
      status: 'abandoned',
      attempts: WEBHOOK_MAX_ATTEMPTS,
      nextAttemptAt: null,
    });
    expect(receiver.received).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
  });

  it('disables an endpoint that failed for most of a day, tells the other endpoints, and audits it', async () => {
    const failing = await endpoint(acme, { path: '/down' });
    const watcher = await endpoint(acme, { path: '/watcher', eventTypes: ['webhook_endpoint.disabled'] });
    receiver.answerBy((path) => (path === '/down' ? 500 : 200));
    await statusChanged(acme);
    const started = clock;
    for (;;) {
      await deliver();
      const [row] = await fixture.db
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.id, failing.id));
      if (!row!.enabled) break;
      const [next] = await fixture.db
        .select({ at: webhookDeliveries.nextAttemptAt })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, failing.id));
      clock = next!.at!;
    }

    const [row] = await fixture.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, failing.id));
    expect(row!.enabled).toBe(false);
    expect(row!.disabledReason).toMatch(/consecutive failed attempts over 2\d h/);
    expect(clock.getTime() - started.getTime()).toBeGreaterThanOrEqual(22 * 3_600_000);
    const [delivery] = await deliveriesOf(acme, failing.id);
    expect(delivery).toMatchObject({ status: 'abandoned', lastErrorCode: 'endpoint_disabled' });

    const notices = await deliveriesOf(acme, watcher.id);
    expect(notices.map((d) => d.eventType)).toEqual(['webhook_endpoint.disabled']);
    expect(notices[0]!.payload).toMatchObject({ data: { endpointId: failing.id, url: failing.url } });
    const audit = await fixture.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'webhook_endpoint.disable'));
    expect(audit).toMatchObject([
      { organizationId: acme.organizationId, targetId: failing.id, actorType: 'system' },
    ]);

    // Nothing more goes to a disabled endpoint; the notice reaches the watcher.
    receiver.received.length = 0;
    await statusChanged(acme);
    await deliver();
    expect(receiver.received.map((r) => r.headers['parley-event-type'])).toEqual([
      'webhook_endpoint.disabled',
    ]);
  });

  it('replays a delivery as a new delivery of the same event, keeping the first one’s attempts', async () => {
    const created = await endpoint(acme);
    // The receiver took it, then lost it: the customer asks for it again.
    await statusChanged(acme);
    await deliver();
    const [first] = await deliveriesOf(acme, created.id);
    expect(first).toMatchObject({ status: 'succeeded', attempts: 1 });

    const replay = await replayWebhookDelivery(acme, first!.id);
    expect(replay).toMatchObject({
      eventId: first!.eventId,
      replayOf: first!.id,
      status: 'pending',
      attempts: 0,
    });
    // Due at once, by the service's own clock.
    clock = new Date(replay.nextAttemptAt!);
    await deliver();

    const all = await deliveriesOf(acme, created.id);
    expect(all.find((d) => d.id === replay.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(all.find((d) => d.id === first!.id)!.attemptLog).toHaveLength(1);
    expect(receiver.received.map((r) => r.headers['parley-event-id'])).toEqual([
      first!.eventId,
      first!.eventId,
    ]);
    expectSigned(created.secret, receiver.received[1]! as never);
  });

  it('sends a test ping at once and answers with the attempt, without retrying it', async () => {
    const created = await endpoint(acme, { eventTypes: ['call.ended'] });
    receiver.answer(500);
    const ping = await testWebhookEndpoint(acme, created.id, { allowedHosts: receiver.allowedHosts });
    expect(ping).toMatchObject({ eventType: 'ping', status: 'abandoned', attempts: 1, lastStatus: 500 });
    expect(ping.attemptLog).toMatchObject([{ responseStatus: 500, responseExcerpt: 'failed with 500' }]);
    expect(await deliver()).toEqual({ attempted: 0, succeeded: 0 });
    const [row] = await fixture.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, created.id));
    expect(row!.consecutiveFailures).toBe(0);
  });

  it('refuses a receiver on a private address unless the operator allowed it', async () => {
    const created = await endpoint(acme);
    await statusChanged(acme);
    await deliverDueWebhooks(fixture.db, acme.secretBox, { ...options(), allowedHosts: [] });
    expect(receiver.received).toHaveLength(0);
    const [delivery] = await deliveriesOf(acme, created.id);
    expect(delivery).toMatchObject({ status: 'failed', lastErrorCode: 'address_refused', lastStatus: null });
  });

  it('keeps pending deliveries in the database, so a new worker (a restart) sends them', async () => {
    await endpoint(acme);
    await statusChanged(acme);
    // A worker with another secret box instance, as after a restart, with the same instance secret.
    const { SecretBox } = await import('../secret-box.js');
    const box = new SecretBox('a test secret key that is long enough to be accepted');
    expect(await deliverDueWebhooks(fixture.db, box, options())).toEqual({ attempted: 1, succeeded: 1 });
  });
});

describe('organizations', () => {
  it('never shows one organization’s endpoints or deliveries to another', async () => {
    const created = await endpoint(acme);
    await statusChanged(acme);
    const [delivery] = await deliveriesOf(acme, created.id);
    await expect(listWebhookDeliveries(globex, created.id, { limit: 10 })).rejects.toMatchObject({
      code: 'webhook_endpoint_not_found',
    });
    await expect(replayWebhookDelivery(globex, delivery!.id)).rejects.toMatchObject({
      code: 'webhook_delivery_not_found',
    });
    await expect(deleteWebhookEndpoint(globex, created.id)).rejects.toMatchObject({
      code: 'webhook_endpoint_not_found',
    });
    await expect(testWebhookEndpoint(globex, created.id, {})).rejects.toMatchObject({
      code: 'webhook_endpoint_not_found',
    });
  });
});
