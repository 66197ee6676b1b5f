import { McpSettings } from '@parley/contracts';
import { startMcpTestServer, type McpTestServer } from '@parley/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { reachLocally } from '../testing/local-test-server.js';
import { discoverMcpFunctions } from './discover-mcp-functions.js';
import { McpServerError } from './mcp-failure.js';

// The test server listens on 127.0.0.1, which the SSRF guard refuses: tests reach it as mcp.test.
const reach = reachLocally(['mcp.test']);

let server: McpTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const settingsFor = (s: McpTestServer, extra: Partial<McpSettings> = {}) =>
  McpSettings.parse({ url: `http://mcp.test:${s.port}/mcp`, timeoutMs: 5000, ...extra });

async function rejection(promise: Promise<unknown>): Promise<McpServerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(McpServerError);
  return error as McpServerError;
}

describe('discoverMcpFunctions', () => {
  it.each([
    ['event-stream', false],
    ['JSON', true],
  ])('lists the server’s tools with their schemas (%s replies)', async (_mode, jsonResponse) => {
    server = await startMcpTestServer({
      jsonResponse,
      tools: [
        {
          name: 'lookup_order',
          description: 'Finds an order by its number',
          inputSchema: z.object({ orderId: z.string().describe('The order number') }),
          handler: () => 'ok',
        },
        { name: 'current_queue', description: 'How many callers are waiting', handler: () => '3' },
      ],
    });
    const discovery = await discoverMcpFunctions(settingsFor(server), reach);
    expect(discovery.skipped).toEqual([]);
    expect(discovery.functions).toEqual([
      {
        name: 'lookup_order',
        description: 'Finds an order by its number',
        parameters: expect.objectContaining({
          type: 'object',
          properties: { orderId: { type: 'string', description: 'The order number' } },
          required: ['orderId'],
        }),
      },
      {
        name: 'current_queue',
        description: 'How many callers are waiting',
        parameters: expect.objectContaining({ type: 'object' }),
      },
    ]);
  });

  it('skips a tool whose name the model cannot call, saying why', async () => {
    server = await startMcpTestServer({
      tools: [
        { name: 'orders.lookup', description: 'Dotted name', handler: () => 'ok' },
        { name: 'book_slot', description: 'Books a slot', handler: () => 'ok' },
      ],
    });
    const discovery = await discoverMcpFunctions(settingsFor(server), reach);
    expect(discovery.functions.map((f) => f.name)).toEqual(['book_slot']);
    expect(discovery.skipped).toEqual([
      { name: 'orders.lookup', reason: expect.stringMatching(/not a valid function name/) },
    ]);
  });

  it('sends the credential and fails clearly on a wrong one, without quoting it', async () => {
    server = await startMcpTestServer({
      bearerToken: 'right-token',
      tools: [{ name: 'book_slot', description: 'Books a slot', handler: () => 'ok' }],
    });
    const accepted = await discoverMcpFunctions(settingsFor(server), {
      ...reach,
      credentialHeader: { name: 'Authorization', value: 'Bearer right-token' },
    });
    expect(accepted.functions.map((f) => f.name)).toEqual(['book_slot']);

    const error = await rejection(
      discoverMcpFunctions(settingsFor(server), {
        ...reach,
        credentialHeader: { name: 'Authorization', value: 'Bearer wr0ng-s3cret' },
      }),
    );
    expect(error.reason).toBe('unauthorized');
    expect(error.message).toMatch(/refused the credentials \(HTTP 401\)/);
    expect(error.message).not.toMatch(/wr0ng-s3cret/);
  });

  it('refuses an MCP server on a loopback address without an allowance, sending nothing', async () => {
    server = await startMcpTestServer({
      tools: [{ name: 'book_slot', description: 'Books a slot', handler: () => 'ok' }],
    });
    const error = await rejection(discoverMcpFunctions(McpSettings.parse({ url: server.url })));
    expect(error.reason).toBe('address_refused');
    expect(error.message).toMatch(/127\.0\.0\.1:\d+ is a loopback address/);
    expect(server.requestCount).toBe(0);
  });
});
