import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '@parley/services';
import { startLocalTestServer, type LocalTestServer } from '@parley/services/testing';
import { preCallVariables, type PreCallVariablesInput } from './pre-call-variables.js';

// The customer's server, reached as crm.test.
let crm: LocalTestServer;

beforeAll(async () => {
  crm = await startLocalTestServer({ hosts: ['crm.test'] });
});
afterAll(() => crm.close());
afterEach(() => crm.dropConnections());

function answering(status: number, body: string): void {
  crm.reset((_request, res) => {
    res.statusCode = status;
    res.end(body);
  });
}

function world(agentOverrides: Record<string, unknown> = {}) {
  const events: JournalEvent[] = [];
  const logLines: string[] = [];
  const input: PreCallVariablesInput = {
    call: {
      id: '6f1c2d3e-0000-4000-8000-000000000001',
      direction: 'inbound',
      fromNumber: '+15550001111',
      toNumber: '+15557654321',
      agentId: '6f1c2d3e-0000-4000-8000-000000000002',
      agentVersion: 1,
      variables: { customer_name: 'from the dialler', crm_id: 'C-42' },
    },
    agentConfig: {
      name: 'Reception',
      firstMessage: 'Hello {{customer_name}}',
      variables: [{ name: 'customer_name', default: 'there' }, { name: 'crm_id' }],
      preCallContext: { url: crm.url('/context'), headers: {}, timeoutMs: 1000 },
      ...agentOverrides,
    },
    credentials: async () => ({}),
    allowedHosts: crm.allowedHosts,
    lookup: crm.lookup,
    log: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
    journal: { record: (event) => void events.push(event) },
  };
  return { input, events, logLines };
}

describe('preCallVariables', () => {
  it('puts what the hook answers over the call’s own variables, and records names, never values', async () => {
    answering(200, JSON.stringify({ customer_name: 'Ada Lovelace', order: { id: 'A-981' } }));
    const { input, events, logLines } = world();
    const variables = await preCallVariables(input);
    expect(variables).toEqual({ customer_name: 'Ada Lovelace', crm_id: 'C-42', 'order.id': 'A-981' });
    expect(JSON.parse(crm.requests[0]!.body)).toMatchObject({
      call: { id: input.call.id, direction: 'inbound', from: '+15550001111', to: '+15557654321' },
      variables: { customer_name: 'from the dialler', crm_id: 'C-42' },
    });
    expect(events).toEqual([
      {
        seq: 0,
        atMs: 0,
        type: 'pre_call_context',
        ok: true,
        latencyMs: expect.any(Number),
        variables: ['customer_name', 'order.id'],
      },
    ]);
    const logged = logLines.join('');
    expect(logged).toContain('"variableCount":2');
    expect(logged).not.toContain('Ada');
    expect(logged).not.toContain('A-981');
    expect(logged).not.toContain('+1555');
  });

  it('keeps the call’s variables when the hook fails, and records why', async () => {
    answering(503, 'down for maintenance');
    const { input, events } = world();
    expect(await preCallVariables(input)).toEqual(input.call.variables);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'pre_call_context',
        ok: false,
        code: 'http_status',
        reason: 'answered HTTP 503',
        variables: [],
      }),
    ]);
  });

  it('asks nothing when the agent has no hook', async () => {
    answering(200, '{}');
    const { input, events } = world({ preCallContext: null });
    expect(await preCallVariables(input)).toEqual(input.call.variables);
    expect(crm.requests).toEqual([]);
    expect(events).toEqual([]);
  });
});
