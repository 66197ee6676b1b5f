// Outbound calls and drained runtimes: the API places a call only when some runtime can carry it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls, eq, runtimes } from '@parley/db';
import { registerRuntime } from '@parley/services';
import { startTwilioRestSimulator, type TwilioRestSimulator } from '@parley/testkit';
import { createHarness, type Harness, type SignedInUser } from '../testing/harness.js';
import { CarrierDialer } from './carrier-dialer.js';

const ACCOUNT_SID = `AC${'3'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-for-the-dialer-test';
const FROM = '+15550007777';
const TO = '+15557650007';

let h: Harness;
let rest: TwilioRestSimulator;
let user: SignedInUser;
let agentId: string;

beforeAll(async () => {
  rest = await startTwilioRestSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  h = await createHarness({ callLimits: { maxConcurrentCalls: 100, callsPerMinute: 100 } });
  // This process's own runtime is `rt-self`; `rt-other` is another process's.
  h.deps.dialer = new CarrierDialer({
    deps: h.deps,
    carrierApiUrls: { twilio: rest.baseUrl },
    ownRuntime: { runtimeId: 'rt-self', mediaUrl: 'wss://rt-self.example.com' },
  });
  user = await h.signup('dialer');
  const credential = await user.client.post('/api/v1/credentials', {
    name: 'Twilio',
    provider: 'twilio',
    values: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN },
  });
  const agent = await user.client.post('/api/v1/agents', { name: 'Caller' });
  agentId = agent.body.id;
  await user.client.post(`/api/v1/agents/${agentId}/publish`);
  const number = await user.client.post('/api/v1/phone-numbers', {
    carrier: 'twilio',
    number: FROM,
    credentialId: credential.body.id,
  });
  expect(number.status).toBe(201);
  for (const id of ['rt-self', 'rt-other']) {
    await registerRuntime(h.database.db, id, new Date(), { mediaUrl: `wss://${id}.example.com` });
  }
}, 60_000);
afterAll(async () => {
  await h?.close();
  await rest?.close();
});

const drain = (id: string, draining: boolean) =>
  h.database.db
    .update(runtimes)
    .set({ draining, drainingSince: draining ? new Date() : null })
    .where(eq(runtimes.id, id));

describe('placing a call while runtimes drain', () => {
  it('dials while another runtime takes calls, and refuses with 503 once every runtime drains', async () => {
    await drain('rt-self', true);
    const placed = await user.client.post('/api/v1/calls', { agentId, from: FROM, to: TO });
    expect(placed.status).toBe(201);
    expect(rest.calls.size).toBe(1);

    await drain('rt-other', true);
    const refused = await user.client.post('/api/v1/calls', { agentId, from: FROM, to: TO });
    expect([refused.status, refused.body.error.code]).toEqual([503, 'no_runtime_available']);
    // The carrier was never asked, and the call says why it ended.
    expect(rest.calls.size).toBe(1);
    const [call] = await h.database.db
      .select()
      .from(calls)
      .where(eq(calls.id, refused.body.error.details.callId));
    expect([call?.status, call?.endReason]).toEqual(['failed', 'no_runtime_available']);

    await drain('rt-self', false);
    expect((await user.client.post('/api/v1/calls', { agentId, from: FROM, to: TO })).status).toBe(201);
  });
});
