import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, auditLog, eq } from '@parley/db';
import { heartbeatRuntime, registerRuntime } from '@parley/services';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';

let h: Harness;
let orgOwner: SignedInUser;
beforeAll(async () => {
  h = await createHarness();
  h.deps.runtimeStaleAfterMs = 30_000;
  orgOwner = await h.signup('org-owner');
}, 60_000);
afterAll(() => h?.close());

const secondsAgo = (s: number) => new Date(Date.now() - s * 1000);

/** A runtime as a process registers it, `calls` calls at its last heartbeat `beatSecondsAgo` ago. */
async function runtime(id: string, calls: number, beatSecondsAgo = 1): Promise<string> {
  await registerRuntime(h.database.db, id, secondsAgo(beatSecondsAgo + 60), {
    role: 'runtime',
    version: '9.9.9',
    host: `host-of-${id}`,
    mediaUrl: `wss://${id}.example.com`,
  });
  await heartbeatRuntime(h.database.db, id, secondsAgo(beatSecondsAgo), calls);
  return id;
}

const listed = async () => {
  const response = await h.operator.client.get('/api/v1/runtimes');
  expect(response.status).toBe(200);
  return response.body.data as any[];
};
const auditRows = (runtimeId: string) =>
  h.database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.targetType, 'runtime'), eq(auditLog.targetId, runtimeId)));

describe('the runtime list', () => {
  it('shows each runtime’s role, version, host, media URL, load and state', async () => {
    const busy = await runtime('rt-list-busy', 3);
    const silent = await runtime('rt-list-silent', 1, 45);
    const runtimes = await listed();
    expect(runtimes.find((r) => r.id === busy)).toEqual({
      id: busy,
      role: 'runtime',
      version: '9.9.9',
      host: 'host-of-rt-list-busy',
      mediaUrl: 'wss://rt-list-busy.example.com',
      state: 'active',
      activeCalls: 3,
      startedAt: expect.any(String),
      heartbeatAt: expect.any(String),
      drainingSince: null,
    });
    // Silent for longer than the stale threshold: presumed dead.
    expect(runtimes.find((r) => r.id === silent)).toMatchObject({ state: 'stale' });
  });
});

describe('draining and resuming', () => {
  it('drains a runtime (draining while it has calls, drained once empty) and resumes it, audited', async () => {
    const id = await runtime('rt-drain', 2);
    const drained = await h.operator.client.post(`/api/v1/runtimes/${id}/drain`);
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ id, state: 'draining', drainingSince: expect.any(String) });

    // Its calls end; its next heartbeat reports none and learns it is draining.
    expect(await heartbeatRuntime(h.database.db, id, new Date(), 0)).toEqual({ draining: true });
    expect((await listed()).find((r) => r.id === id)).toMatchObject({ state: 'drained', activeCalls: 0 });

    // Draining again changes nothing: same start of the drain, no second audit row.
    const again = await h.operator.client.post(`/api/v1/runtimes/${id}/drain`);
    expect(again.body).toMatchObject({ state: 'drained', drainingSince: drained.body.drainingSince });

    const resumed = await h.operator.client.post(`/api/v1/runtimes/${id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ id, state: 'active', drainingSince: null });
    expect(await heartbeatRuntime(h.database.db, id, new Date(), 0)).toEqual({ draining: false });

    const audit = await auditRows(id);
    expect(audit.map((row) => [row.action, row.organizationId, row.actorId])).toEqual([
      ['runtime.drain', null, h.operator.userId],
      ['runtime.resume', null, h.operator.userId],
    ]);
  });

  it('keeps a drain when the runtime registers again with the same id', async () => {
    const id = await runtime('rt-restart', 0);
    expect((await h.operator.client.post(`/api/v1/runtimes/${id}/drain`)).status).toBe(200);
    await registerRuntime(h.database.db, id, new Date(), { role: 'runtime', version: '9.9.10', host: 'h' });
    expect((await listed()).find((r) => r.id === id)).toMatchObject({ state: 'drained', version: '9.9.10' });
  });

  it('answers 404 runtime_not_found for a runtime it does not know', async () => {
    for (const verb of ['drain', 'resume']) {
      const response = await h.operator.client.post(`/api/v1/runtimes/no-such-runtime/${verb}`);
      expect([response.status, response.body.error.code], verb).toEqual([404, 'runtime_not_found']);
    }
  });
});

describe('who may see and drain runtimes', () => {
  it('is the instance administrator only: an organization’s owner and its admin API key get 403', async () => {
    const id = await runtime('rt-access', 1);
    const key = await h.apiKey(orgOwner, ['admin']);
    for (const client of [orgOwner.client, key]) {
      for (const [method, url] of [
        ['GET', '/api/v1/runtimes'],
        ['POST', `/api/v1/runtimes/${id}/drain`],
        ['POST', `/api/v1/runtimes/${id}/resume`],
      ] as const) {
        const response = await client.request(method, url, method === 'POST' ? {} : undefined);
        expect([response.status, response.body.error?.code], `${method} ${url}`).toEqual([403, 'forbidden']);
      }
    }
    expect((await listed()).find((r) => r.id === id)).toMatchObject({ state: 'active' });
    expect(await auditRows(id)).toEqual([]);
  });
});
