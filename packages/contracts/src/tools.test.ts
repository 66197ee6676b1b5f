import { describe, expect, it } from 'vitest';
import { AgentConfig } from './agents.js';
import { CreateToolBody, UpdateToolBody, webhookPlaceholders } from './tools.js';

const issuePaths = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  (result.error?.issues ?? []).map((i) => i.path.join('.')).sort();

const TOOL_ID = '0192e3a4-5b6c-7d8e-9f00-112233445566';

describe('webhook tools', () => {
  it('fill in the defaults a user would expect: POST, 5 s, no retries, waits for the answer', () => {
    const tool = CreateToolBody.parse({
      kind: 'webhook',
      name: 'Order lookup',
      functionName: 'lookup_order',
      description: 'Finds an order by its number.',
      webhook: { url: 'https://api.example.com/orders/{{order_number}}' },
    });
    expect(tool).toMatchObject({
      parameters: { type: 'object', properties: {} },
      webhook: { method: 'POST', headers: {}, timeoutMs: 5000, retries: 0, waitingMessage: '', async: false },
    });
  });

  it('name every wrong field: function name, schema type, URL scheme, framing header, malformed placeholder', () => {
    const result = CreateToolBody.safeParse({
      kind: 'webhook',
      name: 'Bad',
      functionName: 'look up order',
      description: '',
      parameters: { type: 'array' },
      webhook: {
        url: 'ftp://example.com/x',
        headers: { Host: 'evil.example', 'X-Ok': 'fine' },
        body: '{"order": {{ order number }}}',
        timeoutMs: 60_000,
      },
    });
    expect(issuePaths(result)).toEqual([
      'description',
      'functionName',
      'parameters.type',
      'webhook.headers.Host',
      'webhook.timeoutMs',
      'webhook.url',
    ]);
  });

  it('refuse a malformed placeholder in the body template', () => {
    const result = CreateToolBody.safeParse({
      kind: 'webhook',
      name: 'Bad body',
      functionName: 'f',
      description: 'd',
      webhook: { url: 'https://api.example.com/x', body: '{"order": {{ order number }}}' },
    });
    expect(issuePaths(result)).toEqual(['webhook.body']);
  });

  it('list the placeholders of the URL and the body once each', () => {
    expect(
      webhookPlaceholders({
        url: 'https://x.example/{{id}}?c={{call.id}}',
        body: '{"id": {{id}}, "n": {{ note }}}',
      }),
    ).toEqual(['id', 'call.id', 'note']);
  });
});

describe('built-in and MCP tools', () => {
  it('refuse a time zone that does not exist', () => {
    const result = CreateToolBody.safeParse({
      kind: 'builtin',
      name: 'Clock',
      functionName: 'current_time',
      description: 'The time now.',
      builtin: { type: 'current_time', timezone: 'Mars/Olympus' },
    });
    expect(issuePaths(result)).toEqual(['builtin.timezone']);
  });

  it('accept an MCP server with a credential and default timeout', () => {
    const tool = CreateToolBody.parse({
      kind: 'mcp',
      name: 'CRM',
      mcp: { url: 'https://mcp.example.com/mcp', credentialId: TOOL_ID },
    });
    expect(tool).toMatchObject({ mcp: { timeoutMs: 10_000, headers: {} }, description: '' });
  });

  it('an edit must change something', () => {
    expect(UpdateToolBody.safeParse({}).success).toBe(false);
    expect(UpdateToolBody.safeParse({ name: 'New name' }).success).toBe(true);
  });
});

describe('tools on an agent', () => {
  it('offer all functions by default and refuse the same tool listed twice', () => {
    expect(AgentConfig.parse({ name: 'A', tools: [{ toolId: TOOL_ID }] }).tools).toEqual([
      { toolId: TOOL_ID },
    ]);
    const twice = AgentConfig.safeParse({
      name: 'A',
      tools: [{ toolId: TOOL_ID }, { toolId: TOOL_ID, functions: ['x'] }],
    });
    expect(issuePaths(twice)).toEqual(['tools.1.toolId']);
  });

  it('refuse an empty function selection (leave it out to offer all)', () => {
    const result = AgentConfig.safeParse({ name: 'A', tools: [{ toolId: TOOL_ID, functions: [] }] });
    expect(issuePaths(result)).toEqual(['tools.0.functions']);
  });

  it('take a pre-call context hook with a 2 s default timeout', () => {
    const config = AgentConfig.parse({
      name: 'A',
      preCallContext: { url: 'https://crm.example.com/context' },
    });
    expect(config.preCallContext).toEqual({
      url: 'https://crm.example.com/context',
      headers: {},
      timeoutMs: 2000,
    });
  });
});
