import { McpSettings } from '@parley/contracts';
import { startMcpTestServer, type McpTestServer, type McpTestTool } from '@parley/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { reachLocally } from '../testing/local-test-server.js';
import { callMcpFunction } from './call-mcp-function.js';

// The test server listens on 127.0.0.1, which the SSRF guard refuses: tests reach it as mcp.test.
const reach = reachLocally(['mcp.test']);

let server: McpTestServer | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await server?.close();
  server = undefined;
});

const settingsFor = (s: McpTestServer, extra: Partial<McpSettings> = {}) =>
  McpSettings.parse({ url: `http://mcp.test:${s.port}/mcp`, timeoutMs: 5000, ...extra });

const lookupOrder: McpTestTool = {
  name: 'lookup_order',
  description: 'Finds an order',
  inputSchema: { orderId: z.string() },
  handler: ({ orderId }) => `Order ${String(orderId)} ships on Tuesday.`,
};

describe('callMcpFunction', () => {
  it.each([
    ['event-stream', false],
    ['JSON', true],
  ])(
    'reaches the server with the arguments and the bearer token, and returns its text (%s replies)',
    async (_mode, jsonResponse) => {
      server = await startMcpTestServer({ tools: [lookupOrder], bearerToken: 'tok-123', jsonResponse });
      const outcome = await callMcpFunction(
        settingsFor(server),
        'lookup_order',
        { orderId: 'A-17' },
        { ...reach, credentialHeader: { name: 'Authorization', value: 'Bearer tok-123' } },
      );
      expect(outcome).toEqual({ status: 'ok', content: 'Order A-17 ships on Tuesday.' });
      expect(server.calls).toEqual([
        { name: 'lookup_order', arguments: { orderId: 'A-17' }, authorization: 'Bearer tok-123' },
      ]);
    },
  );

  it('sends the tool’s plain headers', async () => {
    server = await startMcpTestServer({ tools: [lookupOrder], bearerToken: 'from-headers' });
    const settings = settingsFor(server, { headers: { Authorization: 'Bearer from-headers' } });
    const outcome = await callMcpFunction(settings, 'lookup_order', { orderId: 'B-2' }, reach);
    expect(outcome.status).toBe('ok');
  });

  it('gives the model the server’s text when the tool reports an error, cut to 4000 characters', async () => {
    const long = `No order with that number. ${'x'.repeat(5000)}`;
    server = await startMcpTestServer({
      tools: [
        { ...lookupOrder, handler: () => ({ isError: true, content: [{ type: 'text', text: long }] }) },
      ],
    });
    const outcome = await callMcpFunction(settingsFor(server), 'lookup_order', { orderId: 'Z' }, reach);
    expect(outcome).toMatchObject({ status: 'error', code: 'failed' });
    expect(outcome.content).toMatch(/^No order with that number\. x+…$/);
    expect(outcome.content).toHaveLength(4000);
  });

  it('summarises content that is not text', async () => {
    server = await startMcpTestServer({
      tools: [
        {
          ...lookupOrder,
          handler: () => ({
            content: [
              { type: 'text', text: 'Here is the receipt.' },
              { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
              { type: 'resource_link', uri: 'https://shop.example/orders/A-17', name: 'order' },
            ],
          }),
        },
      ],
    });
    const outcome = await callMcpFunction(settingsFor(server), 'lookup_order', { orderId: 'A-17' }, reach);
    expect(outcome).toEqual({
      status: 'ok',
      content: 'Here is the receipt.\n[image]\n[resource: https://shop.example/orders/A-17]',
    });
  });

  it('gives a timeout result when the server does not answer within timeoutMs', async () => {
    let release = () => {};
    const held = new Promise<string>((resolve) => (release = () => resolve('too late')));
    cleanups.push(() => release());
    server = await startMcpTestServer({ tools: [{ ...lookupOrder, handler: () => held }] });
    const outcome = await callMcpFunction(
      settingsFor(server, { timeoutMs: 300 }),
      'lookup_order',
      { orderId: 'A-17' },
      reach,
    );
    expect(outcome).toEqual({
      status: 'error',
      code: 'timeout',
      content: 'The tool lookup_order did not answer within 300 ms',
    });
    // The call did reach the server: the wait was the tool's.
    expect(server.calls).toHaveLength(1);
  });

  it('refuses a server on a loopback address without an allowance, sending nothing', async () => {
    server = await startMcpTestServer({ tools: [lookupOrder] });
    const outcome = await callMcpFunction(McpSettings.parse({ url: server.url }), 'lookup_order', {});
    expect(outcome).toMatchObject({ status: 'error', code: 'failed' });
    expect(outcome.content).toMatch(/Refused to connect: 127\.0\.0\.1:\d+ is a loopback address/);
    expect(server.requestCount).toBe(0);
  });

  it('gives a failed result, never a throw, when nothing listens', async () => {
    server = await startMcpTestServer({ tools: [lookupOrder] });
    const settings = settingsFor(server);
    await server.close();
    const outcome = await callMcpFunction(settings, 'lookup_order', {}, reach);
    expect(outcome).toMatchObject({ status: 'error', code: 'failed' });
    expect(outcome.content).toMatch(/Could not reach the MCP server: .*ECONNREFUSED/);
    server = undefined;
  });

  it('gives a cancelled result when the caller aborts', async () => {
    const held = new Promise<string>(() => {});
    server = await startMcpTestServer({ tools: [{ ...lookupOrder, handler: () => held }] });
    const controller = new AbortController();
    const pending = callMcpFunction(
      settingsFor(server),
      'lookup_order',
      { orderId: 'A-17' },
      {
        ...reach,
        signal: controller.signal,
      },
    );
    await expect.poll(() => server?.calls.length).toBe(1);
    controller.abort();
    expect(await pending).toEqual({
      status: 'error',
      code: 'failed',
      content: 'The call to lookup_order was cancelled',
    });
  });
});
