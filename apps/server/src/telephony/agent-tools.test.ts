import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BuiltinSettings, WebhookSettings } from '@parley/contracts';
import { builtinFunctionDefinition, type CallToolFunction } from '@parley/services';
import type { ToolCall, ToolExecutor } from '@parley/voice';
import { AgentTools, POLICY_MARGIN_MS, type AgentToolsOptions } from './agent-tools.js';
import { CombinedTools } from './combined-tools.js';

// A local tool server, reached by a name the injected lookup resolves to it and the allow-list names.
const outbound = { allowedHosts: ['tools.test'], lookup: async () => [{ address: '127.0.0.1', family: 4 }] };
const received: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    received.push({ url: req.url ?? '', headers: req.headers, body });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"shipped"}');
  });
});
let port = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const webhookFn = (overrides: Partial<WebhookSettings> = {}): CallToolFunction => ({
  toolId: 'tool-webhook',
  name: 'lookup_order',
  description: 'Looks up an order',
  parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
  source: {
    kind: 'webhook',
    webhook: WebhookSettings.parse({
      url: `http://tools.test:${port}/orders/{{order_id}}`,
      body: '{"order":"{{order_id}}","call":"{{call.id}}","agent":"{{agent.id}}","tier":"{{var.tier}}"}',
      timeoutMs: 2000,
      retries: 1,
      waitingMessage: 'Let me check that order.',
      ...overrides,
    }),
  },
  credentialHeader: { headerName: 'Authorization', value: 'Bearer sk-secret' },
});

const builtinFn = (settings: unknown, toolId = 'tool-builtin'): CallToolFunction => {
  const builtin = BuiltinSettings.parse(settings);
  return { toolId, ...builtinFunctionDefinition(builtin), source: { kind: 'builtin', builtin } };
};

function agentTools(functions: CallToolFunction[], extra: Partial<AgentToolsOptions> = {}) {
  const log = { info: vi.fn(), warn: vi.fn() };
  const saveLead = vi.fn(async () => undefined);
  const tools = new AgentTools({
    functions,
    variables: { 'call.id': 'call-1', 'agent.id': 'agent-1', 'var.tier': 'gold' },
    outbound,
    saveLead,
    log,
    now: () => new Date('2026-11-22T09:30:00Z'),
    ...extra,
  });
  return { tools, log, saveLead };
}

let nextId = 0;
const invoke = (tools: ToolExecutor, name: string, args: unknown) => {
  const call: ToolCall = { id: `call_${nextId++}`, name, arguments: JSON.stringify(args) };
  return tools.execute({ call, callId: 'call-1', signal: new AbortController().signal });
};

describe('AgentTools', () => {
  it('sends a webhook with the arguments, the call variables and the credential; logs no data', async () => {
    const { tools, log } = agentTools([webhookFn()]);
    expect(tools.definitions().map((d) => d.name)).toEqual(['lookup_order']);

    const outcome = await invoke(tools, 'lookup_order', { order_id: 'A-17' });

    expect(outcome).toEqual({ status: 'ok', content: '{"status":"shipped"}' });
    expect(received.at(-1)).toMatchObject({
      url: '/orders/A-17',
      headers: { authorization: 'Bearer sk-secret' },
    });
    expect(JSON.parse(received.at(-1)!.body)).toEqual({
      order: 'A-17',
      call: 'call-1',
      agent: 'agent-1',
      tier: 'gold',
    });
    expect(log.info).toHaveBeenCalledWith(
      expect.objectContaining({
        tool: 'lookup_order',
        status: 'ok',
        httpStatus: 200,
        latencyMs: expect.any(Number),
      }),
      'tool ran',
    );
    const logged = JSON.stringify(log.info.mock.calls);
    expect(logged).not.toContain('A-17');
    expect(logged).not.toContain('shipped');
    expect(logged).not.toContain('sk-secret');
  });

  it('gives each webhook its own deadline (all attempts) and waiting line', () => {
    const { tools } = agentTools([webhookFn(), builtinFn({ type: 'current_time' })]);
    // Two attempts of 2 s and the pause between them, plus the margin.
    expect(tools.policy('lookup_order')).toEqual({
      timeoutMs: 2000 * 2 + 2000 + POLICY_MARGIN_MS,
      waitingMessage: 'Let me check that order.',
    });
    expect(tools.policy('current_time')).toBeUndefined();
  });

  it('answers an unknown function with unknown_tool, and wrong arguments without a request', async () => {
    const { tools } = agentTools([webhookFn()]);
    expect(await invoke(tools, 'delete_everything', {})).toMatchObject({
      status: 'error',
      code: 'unknown_tool',
    });
    const before = received.length;
    expect(await invoke(tools, 'lookup_order', { order_id: 17 })).toMatchObject({
      status: 'error',
      code: 'invalid_arguments',
    });
    expect(received.length).toBe(before);
  });

  it('tells the time on the real clock, in the tool’s time zone', async () => {
    const { tools } = agentTools([builtinFn({ type: 'current_time', timezone: 'Europe/Paris' })]);
    const outcome = await invoke(tools, 'current_time', {});
    expect(JSON.parse(outcome.content)).toMatchObject({ date: '2026-11-22', time: '10:30' });
  });

  it('stores a lead’s fields for its tool', async () => {
    const lead = builtinFn(
      { type: 'capture_lead', fields: [{ name: 'email', type: 'email', required: true }] },
      'lead-tool',
    );
    const { tools, saveLead } = agentTools([lead]);
    expect(await invoke(tools, 'capture_lead', { email: 'ann@example.com' })).toMatchObject({ status: 'ok' });
    expect(saveLead).toHaveBeenCalledWith({ toolId: 'lead-tool', fields: { email: 'ann@example.com' } });
  });

  it('offers a hand-off only when the call can be transferred, and passes the reason on', async () => {
    const handOffFn = builtinFn({ type: 'hand_off', number: '+15550007777', message: '' });
    expect(agentTools([handOffFn]).tools.definitions()).toEqual([]);
    const handOff = vi.fn(() => ({ status: 'ok' as const, content: 'transferring', endCall: true }));
    const { tools } = agentTools([handOffFn], { handOff });
    expect(await invoke(tools, 'hand_off', { reason: 'refund', summary: 'Order A-17' })).toMatchObject({
      status: 'ok',
      endCall: true,
    });
    expect(handOff).toHaveBeenCalledWith({
      number: '+15550007777',
      reason: 'refund',
      summary: 'Order A-17',
      message: '',
    });
  });
});

describe('CombinedTools', () => {
  const executor = (name: string, answer: string): ToolExecutor => ({
    definitions: () => [{ name, description: answer, parameters: { type: 'object' } }],
    execute: async () => ({ status: 'ok', content: answer }),
    policy: () => ({ waitingMessage: answer }),
  });

  it('offers both, dispatches by name, and keeps the first of two functions with one name', async () => {
    const clashes: string[] = [];
    const tools = new CombinedTools(
      [executor('end_call', 'call action'), executor('end_call', 'agent tool'), executor('lookup', 'lookup')],
      (name) => clashes.push(name),
    );
    expect(tools.definitions().map((d) => [d.name, d.description])).toEqual([
      ['end_call', 'call action'],
      ['lookup', 'lookup'],
    ]);
    expect(clashes).toEqual(['end_call']);
    expect(await invoke(tools, 'end_call', {})).toEqual({ status: 'ok', content: 'call action' });
    expect(tools.policy('lookup')).toEqual({ waitingMessage: 'lookup' });
    expect(await invoke(tools, 'nothing', {})).toMatchObject({ status: 'error', code: 'unknown_tool' });
  });
});
