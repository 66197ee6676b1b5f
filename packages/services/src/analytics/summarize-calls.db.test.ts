import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, calls, organizations } from '@parley/db';
import type { OrgContext } from '../context.js';
import { createCallsFixture, type CallsFixture } from '../testing/calls-fixture.js';
import { summarizeCalls } from './summarize-calls.js';

const at = (iso: string) => new Date(iso);
/** A per-call latency summary as the runtime writes it. */
const latency = (p50: number, p95: number) => ({ turns: 3, voiceToVoiceMs: { p50, p95 } });

let fixture: CallsFixture;
let ctx: OrgContext;
let otherAgentId: string;
let foreignAgentId: string;

beforeAll(async () => {
  fixture = await createCallsFixture();
  ctx = {
    ...fixture.system,
    organizationId: fixture.organizationId,
    role: 'viewer',
    permissions: new Set(['calls:read']),
    suspended: false,
  };
  const [other] = await fixture.db
    .insert(agents)
    .values({ organizationId: fixture.organizationId, name: 'Sales', draft: {} })
    .returning({ id: agents.id });
  otherAgentId = other!.id;

  // Day 1 (2026-03-01): two answered calls (60 s and 30 s), one busy.
  await fixture.newCall({
    status: 'completed',
    endReason: 'caller_hung_up',
    createdAt: at('2026-03-01T09:00:00Z'),
    answeredAt: at('2026-03-01T09:00:05Z'),
    endedAt: at('2026-03-01T09:01:05Z'),
    latency: latency(800, 1200),
  });
  await fixture.newCall({
    status: 'completed',
    endReason: 'transferred',
    createdAt: at('2026-03-01T23:59:00Z'),
    answeredAt: at('2026-03-01T23:59:10Z'),
    endedAt: at('2026-03-01T23:59:40Z'),
    latency: latency(1000, 1500),
  });
  await fixture.newCall({
    status: 'busy',
    endReason: 'busy',
    createdAt: at('2026-03-01T12:00:00Z'),
    endedAt: at('2026-03-01T12:00:03Z'),
  });
  // Day 2 is empty. Day 3 (2026-03-03): a voicemail (20 s) of the other agent, a live call, no answer.
  await fixture.newCall({
    agentId: otherAgentId,
    status: 'voicemail',
    endReason: 'voicemail',
    createdAt: at('2026-03-03T00:00:00Z'),
    answeredAt: at('2026-03-03T00:00:04Z'),
    endedAt: at('2026-03-03T00:00:24Z'),
    latency: latency(600, 900),
  });
  await fixture.newCall({
    status: 'in_progress',
    createdAt: at('2026-03-03T10:00:00Z'),
    answeredAt: at('2026-03-03T10:00:02Z'),
  });
  await fixture.newCall({
    status: 'no_answer',
    endReason: 'no_answer',
    createdAt: at('2026-03-03T11:00:00Z'),
    endedAt: at('2026-03-03T11:00:30Z'),
  });
  // Outside the range on both ends.
  await fixture.newCall({ status: 'completed', createdAt: at('2026-02-28T23:59:59Z') });
  await fixture.newCall({ status: 'completed', createdAt: at('2026-03-04T00:00:00Z') });

  // Another organization's answered call inside the range: never counted.
  const [org] = await fixture.db
    .insert(organizations)
    .values({ name: 'Elsewhere' })
    .returning({ id: organizations.id });
  const [foreign] = await fixture.db
    .insert(agents)
    .values({ organizationId: org!.id, name: 'Theirs', draft: {} })
    .returning({ id: agents.id });
  foreignAgentId = foreign!.id;
  await fixture.db.insert(calls).values({
    organizationId: org!.id,
    agentId: foreignAgentId,
    direction: 'inbound',
    transport: 'twilio',
    status: 'completed',
    endReason: 'caller_hung_up',
    createdAt: at('2026-03-02T10:00:00Z'),
    answeredAt: at('2026-03-02T10:00:01Z'),
    endedAt: at('2026-03-02T10:10:01Z'),
    latency: latency(5000, 9000),
  });
});
afterAll(() => fixture.close());

const RANGE = { from: '2026-03-01T00:00:00Z', to: '2026-03-04T00:00:00Z' };

describe('summarizeCalls', () => {
  it('adds up the organization’s calls in the range, and no one else’s', async () => {
    expect(await summarizeCalls(ctx, RANGE)).toEqual({
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-03-04T00:00:00.000Z',
      agentId: null,
      calls: 6,
      answered: 4,
      answeredRate: 4 / 6,
      talkSeconds: { total: 110, average: 110 / 3 },
      byStatus: { completed: 2, busy: 1, voicemail: 1, in_progress: 1, no_answer: 1 },
      byEndReason: { caller_hung_up: 1, transferred: 1, busy: 1, voicemail: 1, no_answer: 1 },
      latency: { calls: 3, voiceToVoiceP50Ms: 800, voiceToVoiceP95Ms: 1470 },
      days: [
        { date: '2026-03-01', calls: 3, answered: 2, talkSeconds: 90 },
        { date: '2026-03-03', calls: 3, answered: 2, talkSeconds: 20 },
      ],
    });
  });

  it('narrows to one agent', async () => {
    const summary = await summarizeCalls(ctx, { ...RANGE, agentId: otherAgentId });
    expect(summary).toMatchObject({
      agentId: otherAgentId,
      calls: 1,
      answered: 1,
      answeredRate: 1,
      talkSeconds: { total: 20, average: 20 },
      byStatus: { voicemail: 1 },
      latency: { calls: 1, voiceToVoiceP50Ms: 600, voiceToVoiceP95Ms: 900 },
      days: [{ date: '2026-03-03', calls: 1, answered: 1, talkSeconds: 20 }],
    });
  });

  it('answers zeros and nulls for a range without calls', async () => {
    expect(
      await summarizeCalls(ctx, { from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z' }),
    ).toMatchObject({
      calls: 0,
      answered: 0,
      answeredRate: null,
      talkSeconds: { total: 0, average: null },
      byStatus: {},
      byEndReason: {},
      latency: { calls: 0, voiceToVoiceP50Ms: null, voiceToVoiceP95Ms: null },
      days: [],
    });
  });

  it('treats another organization’s agent as not found', async () => {
    await expect(summarizeCalls(ctx, { ...RANGE, agentId: foreignAgentId })).rejects.toMatchObject({
      code: 'agent_not_found',
    });
  });

  it('needs calls:read', async () => {
    await expect(summarizeCalls({ ...ctx, permissions: new Set() }, RANGE)).rejects.toMatchObject({
      code: 'forbidden',
    });
  });
});
