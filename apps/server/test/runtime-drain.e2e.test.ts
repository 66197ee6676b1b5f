// Draining across processes: two `parley serve` processes share PostgreSQL and Redis, each telling
// carriers its own media address (PARLEY_RUNTIME_URL). Draining A through the API sends the next call
// whose webhook lands on A to B, which carries it; with both draining, the caller hears busy.
import { describe, expect, it, vi } from 'vitest';
import { useProcessWorld } from './process-world.js';
import type { RunningServer } from './server-process.js';

const CALLER = '+15557654444';

const world = useProcessWorld({
  processes: [{ ownMediaUrl: true }, { ownMediaUrl: true }],
  env: { PARLEY_RUNTIME_HEARTBEAT_MS: '200' },
});
const a = () => world.processes[0]!;
const b = () => world.processes[1]!;
let session: Record<string, string> | undefined;

async function api(server: RunningServer, method: string, path: string) {
  // The instance administrator's session, opened on A (sessions are in the shared database).
  session ??= await world.signIn(a());
  const response = await fetch(`${server.baseUrl}/api/v1${path}`, {
    method,
    headers: { ...session, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** The runtimes as `server` lists them, keyed by the process whose media address each has. */
async function runtimesSeenFrom(server: RunningServer) {
  const response = await api(server, 'GET', '/runtimes');
  expect(response.status).toBe(200);
  const of = (p: RunningServer) => (response.body.data as any[]).find((r) => r.mediaUrl === p.mediaUrl);
  return { a: of(a()), b: of(b()) };
}

const callToA = () => world.placeCall(a(), CALLER);

describe('draining a runtime across processes', () => {
  it('moves new calls to the other process, which carries them, and reports the drained one empty', async () => {
    const before = await vi.waitFor(
      async () => {
        const seen = await runtimesSeenFrom(a());
        expect([seen.a?.state, seen.b?.state]).toEqual(['active', 'active']);
        return seen;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(before.a).toMatchObject({ role: 'all', activeCalls: 0, host: expect.any(String) });
    expect(before.a.version).toMatch(/^\d+\.\d+\.\d+/);

    const drained = await api(a(), 'POST', `/runtimes/${before.a.id}/drain`);
    expect([drained.status, drained.body.state]).toEqual([200, 'drained']);

    // The carrier posts the call's webhook to A; A answers with B's media address.
    const placed = await callToA();
    if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
    expect(placed.streamUrl.startsWith(`${b().mediaUrl}/media/twilio/`)).toBe(true);
    const { caller } = placed;
    // B carries it: the agent greets the caller, and the call's record names B's runtime.
    await caller.waitFor(() => caller.firstNonSilentOutboundAfter(0), 15_000);
    const carried = await world.callBySid(placed.callSid);
    expect(carried).toMatchObject({ status: 'in_progress', runtimeId: before.b.id });
    await vi.waitFor(async () => expect((await runtimesSeenFrom(b())).b?.activeCalls).toBe(1), {
      timeout: 10_000,
      interval: 100,
    });
    await caller.hangUp();

    // B's API sees A's drain too (the registry is shared); A said so in its log.
    expect((await runtimesSeenFrom(b())).a).toMatchObject({ state: 'drained', activeCalls: 0 });
    await vi.waitFor(() => expect(a().output()).toMatch(/"msg":"runtime drained"/), {
      timeout: 10_000,
      interval: 100,
    });
    await vi.waitFor(async () => expect((await world.callBySid(placed.callSid))?.status).toBe('completed'), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it('refuses a new call with a busy signal when every runtime drains, and takes calls again once resumed', async () => {
    const { a: runtimeA, b: runtimeB } = await runtimesSeenFrom(a());
    expect((await api(a(), 'POST', `/runtimes/${runtimeB.id}/drain`)).status).toBe(200);

    const refused = await callToA();
    expect(refused.kind).toBe('hangup');
    expect(refused.twiml).toContain('<Reject reason="busy"/>');
    expect(await world.callBySid(refused.callSid)).toMatchObject({
      status: 'failed',
      endReason: 'no_runtime_available',
    });

    expect((await api(b(), 'POST', `/runtimes/${runtimeA.id}/resume`)).body.state).toBe('active');
    const placed = await callToA();
    if (placed.kind !== 'stream') throw new Error(`expected a media stream: ${placed.twiml}`);
    expect(placed.streamUrl.startsWith(`${a().mediaUrl}/media/twilio/`)).toBe(true);
    await placed.caller.hangUp();
  });
});
