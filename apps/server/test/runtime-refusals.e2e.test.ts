// When every runtime is draining, each carrier's inbound call gets the refusal it understands (a busy
// signal where the carrier has one) and the call's record says why: `no_runtime_available`.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LiveEvent } from '@parley/contracts';
import { and, calls, eq, runtimes } from '@parley/db';
import { createPhoneNumber } from '@parley/services';
import {
  placePlivoInboundCall,
  placeVobizInboundCall,
  startExotelRestSimulator,
  type ExotelRestSimulator,
} from '@parley/testkit';
import { exotelWebhookToken } from '../src/telephony/exotel-routes.js';
import { InProcessLiveEventLog } from '../src/live/in-process-live-event-log.js';
import type { LiveEventSubscription } from '../src/live/live-event-log.js';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { startInboundCallWorld, type InboundCallWorld } from './inbound-call-world.js';

const CALLER = '+15557650011';
const EXOTEL_API_TOKEN = 'exotel-api-token-for-refusals-0123';
const CASES = [
  { carrier: 'plivo', number: '+15550005551', wire: '15550005551', place: placePlivoInboundCall },
  { carrier: 'vobiz', number: '+15550005552', wire: '+15550005552', place: placeVobizInboundCall },
] as const;
const EXOTEL_NUMBER = '+15550005553';

let world: InboundCallWorld;
let exotel: ExotelRestSimulator;
const liveEvents = new InProcessLiveEventLog({ logger: pino({ level: 'silent' }) });
/** The organization's live `call.status` events, as a dashboard following GET /events sees them. */
const statuses: LiveEvent[] = [];
let following: LiveEventSubscription;
const authTokenOf = (carrier: string) => `${carrier}-auth-token-for-refusals`;

beforeAll(async () => {
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env), {
    liveEvents: { runtime: liveEvents, api: liveEvents },
  });
  following = await liveEvents.subscribe(
    world.org.organizationId,
    {},
    {
      event: (event) => {
        if (event.type === 'call.status') statuses.push(event);
      },
      reset: () => {},
    },
  );
  exotel = await startExotelRestSimulator({
    accountSid: 'acme',
    apiKey: 'exotel-key',
    apiToken: EXOTEL_API_TOKEN,
  });
  for (const c of CASES) {
    await createPhoneNumber(world.org, {
      carrier: c.carrier,
      number: c.number,
      credentialId: await world.credential(c.carrier, {
        authId: `MA${c.carrier.toUpperCase()}0002`,
        authToken: authTokenOf(c.carrier),
      }),
      inboundAgentId: world.agentId,
    });
  }
  await createPhoneNumber(world.org, {
    carrier: 'exotel',
    number: EXOTEL_NUMBER,
    credentialId: await world.credential('exotel', {
      accountSid: 'acme',
      apiKey: 'exotel-key',
      apiToken: EXOTEL_API_TOKEN,
    }),
    inboundAgentId: world.agentId,
  });
  // The world's only runtime is draining: no runtime can take a new call.
  await world.database.db
    .update(runtimes)
    .set({ draining: true, drainingSince: new Date() })
    .where(eq(runtimes.id, 'test-runtime'));
});

afterAll(async () => {
  following?.close();
  await exotel?.close();
  await world?.close();
});

const endOf = async (carrier: string, carrierCallId: string) => {
  const [row] = await world.database.db
    .select()
    .from(calls)
    .where(and(eq(calls.transport, carrier), eq(calls.carrierCallId, carrierCallId)));
  // Its end is streamed live too: one status, failed (it never rang on a runtime).
  await vi.waitFor(() =>
    expect(statuses.filter((event) => event.callId === row?.id).map((event) => event.data)).toEqual([
      expect.objectContaining({ status: 'failed', endReason: 'no_runtime_available' }),
    ]),
  );
  return [row?.status, row?.endReason];
};

describe('an inbound call no runtime can take', () => {
  for (const c of CASES) {
    it(`is refused busy on ${c.carrier}`, async () => {
      const placed = await c.place({
        answerUrl: `${world.deps.publicUrl}/webhooks/${c.carrier}/inbound`,
        authToken: authTokenOf(c.carrier),
        from: CALLER,
        to: c.wire,
      });
      expect(placed.kind).toBe('hangup');
      expect(placed.xml).toContain('<Hangup reason="busy"/>');
      expect(await endOf(c.carrier, placed.callUuid)).toEqual(['failed', 'no_runtime_available']);
    });
  }

  it('gets no stream URL on Exotel', async () => {
    const url = `${world.deps.publicUrl}/webhooks/exotel/inbound?token=${exotelWebhookToken(EXOTEL_API_TOKEN)}`;
    const answer = await exotel.fetchAppletUrl(url, {
      callSid: 'exotel-refused',
      from: CALLER,
      to: EXOTEL_NUMBER,
    });
    expect(answer).toEqual({ status: 503, url: null });
    expect(await endOf('exotel', 'exotel-refused')).toEqual(['failed', 'no_runtime_available']);
  });
});
