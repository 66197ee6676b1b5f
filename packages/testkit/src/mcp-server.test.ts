import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startMcpTestServer, type McpTestServer } from './mcp-server.js';

let server: McpTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function connect(url: string, token?: string): Promise<Client> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

describe('startMcpTestServer', () => {
  it('offers its tools to the official client and records each call with its token', async () => {
    server = await startMcpTestServer({
      bearerToken: 't-1',
      tools: [
        {
          name: 'add',
          description: 'Adds two numbers',
          inputSchema: { a: z.number(), b: z.number() },
          handler: ({ a, b }) => String(Number(a) + Number(b)),
        },
      ],
    });
    const client = await connect(server.url, 't-1');
    const { tools } = await client.listTools();
    expect(tools.map((t) => [t.name, t.description])).toEqual([['add', 'Adds two numbers']]);
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    expect(result.content).toEqual([{ type: 'text', text: '5' }]);
    expect(server.calls).toEqual([{ name: 'add', arguments: { a: 2, b: 3 }, authorization: 'Bearer t-1' }]);
    await client.close();
  });

  it('answers 401 to a request without the token and records no call', async () => {
    server = await startMcpTestServer({ bearerToken: 't-1', tools: [] });
    await expect(connect(server.url, 'wrong')).rejects.toThrow(/401|Unauthorized/);
    expect(server.requestCount).toBe(1);
    expect(server.calls).toEqual([]);
  });
});
