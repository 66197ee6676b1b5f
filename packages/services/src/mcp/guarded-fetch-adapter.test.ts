import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundRequestError } from '../outbound/index.js';
import { guardedFetchAdapter } from './guarded-fetch-adapter.js';

let server: Server;
let port: number;
const seen: { method: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 's-1' });
      res.end('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const allowed = guardedFetchAdapter({
  timeoutMs: 2000,
  maxResponseBytes: 1024,
  lookup: async () => [{ address: '127.0.0.1', family: 4 }],
  allowedHosts: ['mcp.test'],
});

describe('guardedFetchAdapter', () => {
  it('answers the standalone stream’s GET with a 405 and sends nothing', async () => {
    seen.length = 0;
    const response = await allowed(`http://mcp.test:${port}/mcp`, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(seen).toEqual([]);
  });

  it('returns a buffered event stream as a fetch Response with its headers', async () => {
    seen.length = 0;
    const response = await allowed(`http://mcp.test:${port}/mcp`, {
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBe('s-1');
    expect(await response.text()).toContain('"result":{}');
    expect(seen).toEqual([{ method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }]);
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
    const small = guardedFetchAdapter({
      timeoutMs: 2000,
      maxResponseBytes: 16,
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      allowedHosts: ['mcp.test'],
    });
    const error = await small(`http://mcp.test:${port}/mcp`, { method: 'POST', body: '{}' }).catch(
      (e: unknown) => e,
    );
    expect((error as OutboundRequestError).code).toBe('response_too_large');
  });
});
