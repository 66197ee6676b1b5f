import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundRequestError } from '../outbound/index.js';
import { reachLocally, startLocalTestServer, type LocalTestServer } from '../testing/local-test-server.js';
import { guardedFetchAdapter } from './guarded-fetch-adapter.js';

// An MCP server that answers every request with a buffered event stream, reached as mcp.test.
let server: LocalTestServer;
let port: number;
const seen = () => server.requests.map(({ method, body }) => ({ method, body }));

beforeAll(async () => {
  server = await startLocalTestServer({
    hosts: reach.allowedHosts,
    handler: (_request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 's-1' });
      res.end('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
    },
  });
  port = server.port;
});
afterAll(() => server.close());

const reach = reachLocally(['mcp.test']);
const allowed = guardedFetchAdapter({ timeoutMs: 2000, maxResponseBytes: 1024, ...reach });

describe('guardedFetchAdapter', () => {
  it('answers the standalone stream’s GET with a 405 and sends nothing', async () => {
    server.reset();
    const response = await allowed(`http://mcp.test:${port}/mcp`, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(seen()).toEqual([]);
  });

  it('returns a buffered event stream as a fetch Response with its headers', async () => {
    server.reset();
    const response = await allowed(`http://mcp.test:${port}/mcp`, {
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBe('s-1');
    expect(await response.text()).toContain('"result":{}');
    expect(seen()).toEqual([{ method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }]);
  });

  it('rejects with the guard’s error for a refused address', async () => {
    const strict = guardedFetchAdapter({ timeoutMs: 2000, maxResponseBytes: 1024 });
    const error = await strict(`http://127.0.0.1:${port}/mcp`, { method: 'POST', body: '{}' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutboundRequestError);
    expect((error as OutboundRequestError).code).toBe('address_refused');
  });

  it('rejects a response larger than the limit', async () => {
    const small = guardedFetchAdapter({ timeoutMs: 2000, maxResponseBytes: 16, ...reach });
    const error = await small(`http://mcp.test:${port}/mcp`, { method: 'POST', body: '{}' }).catch(
      (e: unknown) => e,
    );
    expect((error as OutboundRequestError).code).toBe('response_too_large');
  });
});
