import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startLocalTestServer,
  type LocalTestServer,
  type ReceivedRequest,
} from '../testing/local-test-server.js';
import {
  answerVariables,
  fetchPreCallContext,
  type FetchPreCallContextInput,
} from './fetch-pre-call-context.js';

// The customer's server, reached as crm.test; internal.test resolves to it too but is not allowed.
let crm: LocalTestServer;
let port: number;
let seen: ReceivedRequest[];

beforeAll(async () => {
  crm = await startLocalTestServer({ hosts: ['crm.test'], unlistedHosts: ['internal.test'] });
  port = crm.port;
  seen = crm.requests;
});
afterAll(() => crm.close());
afterEach(() => crm.dropConnections());

function answering(status: number, body: string): void {
  crm.reset((_request, res) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
}

const CALL = {
  id: '6f1c2d3e-0000-4000-8000-000000000001',
  direction: 'inbound' as const,
  from: '+15550001111',
  to: '+15557654321',
  agentId: '6f1c2d3e-0000-4000-8000-000000000002',
  agentVersion: 3,
};

function input(overrides: Partial<FetchPreCallContextInput> = {}): FetchPreCallContextInput {
  return {
    config: { url: `http://crm.test:${port}/context?key=q-secret`, headers: {}, timeoutMs: 2000 },
    call: CALL,
    variables: { crm_id: 'C-42' },
    credentials: async () => {
      throw new Error('no credential expected');
    },
    outbound: { allowedHosts: crm.allowedHosts, lookup: crm.lookup },
    ...overrides,
  };
}

describe('fetchPreCallContext', () => {
  it('posts the call and its variables as JSON, and flattens the answer into variables', async () => {
    answering(
      200,
      JSON.stringify({
        customer: { name: 'Ada', tier: 'gold', address: { city: 'London' } },
        open_tasks: 2,
        vip: true,
        tags: ['a', 'b'],
        last_call: null,
        'not a name': 'x',
      }),
    );
    const result = await fetchPreCallContext(input());
    expect(result).toEqual({
      ok: true,
      variables: {
        'customer.name': 'Ada',
        'customer.tier': 'gold',
        'customer.address.city': 'London',
        open_tasks: 2,
        vip: true,
      },
      latencyMs: expect.any(Number),
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/context?key=q-secret' });
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]!.body)).toEqual({ call: CALL, variables: { crm_id: 'C-42' } });
  });

  it('takes the variables from a `variables` object when the answer has one', async () => {
    answering(200, JSON.stringify({ variables: { customer_name: 'Ada' }, meta: { took: 3 } }));
    const result = await fetchPreCallContext(input());
    expect(result).toMatchObject({ ok: true, variables: { customer_name: 'Ada' } });
  });

  it('sends the configured headers and the credential’s secret in its header', async () => {
    answering(200, '{}');
    const looked: string[] = [];
    const result = await fetchPreCallContext(
      input({
        config: {
          url: `http://crm.test:${port}/context`,
          headers: { 'X-Tenant': 'acme' },
          credentialId: 'cred-1',
          timeoutMs: 2000,
        },
        credentials: async (id) => {
          looked.push(id);
          return { secret: 'sk_live_123', headerName: 'X-Api-Key' };
        },
      }),
    );
    expect(result.ok).toBe(true);
    expect(looked).toEqual(['cred-1']);
    expect(seen[0]!.headers).toMatchObject({ 'x-tenant': 'acme', 'x-api-key': 'sk_live_123' });
  });

  it('sends a credential without a header name as a bearer token', async () => {
    answering(200, '{}');
    await fetchPreCallContext(
      input({
        config: { url: `http://crm.test:${port}/`, headers: {}, credentialId: 'cred-1', timeoutMs: 2000 },
        credentials: async () => ({ secret: 'sk_live_123' }),
      }),
    );
    expect(seen[0]!.headers['authorization']).toBe('Bearer sk_live_123');
  });

  it('gives up at the timeout while the server holds its answer', async () => {
    crm.reset(() => undefined); // never answers
    const result = await fetchPreCallContext(
      input({ config: { url: `http://crm.test:${port}/slow`, headers: {}, timeoutMs: 200 } }),
    );
    expect(result).toMatchObject({ ok: false, code: 'timeout' });
    expect(seen).toHaveLength(1);
    if (result.ok) return;
    expect(result.latencyMs).toBeGreaterThanOrEqual(190);
    expect(result.latencyMs).toBeLessThan(1500);
    expect(result.reason).toMatch(/within 200 ms/);
  });

  it('fails on a non-2xx answer without repeating its body', async () => {
    answering(500, '{"error":"database password is hunter2"}');
    const result = await fetchPreCallContext(input());
    expect(result).toMatchObject({ ok: false, code: 'http_status', reason: 'answered HTTP 500' });
  });

  it('fails on an answer that is not JSON, or not a JSON object', async () => {
    answering(200, '<html>hunter2</html>');
    expect(await fetchPreCallContext(input())).toMatchObject({
      ok: false,
      code: 'not_json',
      reason: 'the answer is not JSON',
    });
    answering(200, '["Ada"]');
    expect(await fetchPreCallContext(input())).toMatchObject({ ok: false, code: 'not_an_object' });
  });

  it('refuses a host that resolves to a private address the operator did not allow: nothing is sent', async () => {
    answering(200, '{"customer_name":"Ada"}');
    const result = await fetchPreCallContext(
      input({
        config: { url: `http://internal.test:${port}/context?key=q-secret`, headers: {}, timeoutMs: 2000 },
      }),
    );
    expect(result).toMatchObject({ ok: false, code: 'address_refused' });
    expect(seen).toHaveLength(0);
    if (result.ok) return;
    expect(result.reason).toContain('internal.test');
    expect(result.reason).not.toContain('q-secret');
  });

  it('fails with a safe reason when the credential cannot be read, sending nothing', async () => {
    answering(200, '{}');
    const result = await fetchPreCallContext(
      input({
        config: { url: `http://crm.test:${port}/`, headers: {}, credentialId: 'gone', timeoutMs: 2000 },
        credentials: async () => {
          throw new Error('credential_not_found: secret details');
        },
      }),
    );
    expect(result).toMatchObject({ ok: false, code: 'credential_unavailable' });
    expect(seen).toHaveLength(0);
  });

  it('stops when the call ends while it waits', async () => {
    crm.reset(() => undefined); // never answers
    const controller = new AbortController();
    const pending = fetchPreCallContext(input({ signal: controller.signal }));
    await expect.poll(() => seen.length).toBe(1);
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, code: 'aborted' });
  });
});

describe('answerVariables', () => {
  it('cuts long values and keeps at most 100 variables', () => {
    const many = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`v${i}`, i]));
    const variables = answerVariables({ long: 'x'.repeat(5000), ...many });
    expect(Object.keys(variables)).toHaveLength(100);
    expect(variables['long']).toHaveLength(2000);
    expect(variables['v98']).toBe(98);
    expect(variables).not.toHaveProperty('v99');
  });
});
