// An MCP server's functions as discovery records them: what the tool then offers the model, which
// of them an agent may select, and a failed discovery that keeps the functions found before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agents/create-agent.js';
import type { OrgContext } from '../context.js';
import { createOrganizationsFixture, type OrganizationsFixture } from '../testing/organizations-fixture.js';
import { createTool } from './create-tool.js';
import { getTool } from './get-tool.js';
import { recordToolDiscovery } from './record-tool-discovery.js';
import { updateTool } from './update-tool.js';

let fixture: OrganizationsFixture;
let ctx: OrgContext;
beforeAll(async () => {
  fixture = await createOrganizationsFixture();
  ctx = await fixture.organization('Acme');
});
afterAll(() => fixture.close());

const FUNCTIONS = [
  { name: 'find_customer', description: 'Finds a customer', parameters: { type: 'object', properties: {} } },
  { name: 'open_ticket', description: 'Opens a ticket', parameters: { type: 'object', properties: {} } },
];

const newServer = () => createTool(ctx, { kind: 'mcp', name: 'CRM', description: '', mcp: mcpSettings() });
const mcpSettings = (url = 'https://crm.example.test/mcp') => ({
  url,
  headers: {},
  timeoutMs: 10_000,
  waitingMessage: '',
});
const agentWith = (toolId: string, functions?: string[]) =>
  createAgent(ctx, { name: 'Support', tools: [{ toolId, ...(functions ? { functions } : {}) }] });

describe('discovered MCP functions', () => {
  it('are what the tool offers, and what an agent may select from', async () => {
    const server = await newServer();
    // Not discovered yet: any selection is accepted, to be checked once the functions are known.
    await expect(agentWith(server.id, ['anything'])).resolves.toMatchObject({ name: 'Support' });

    const at = new Date('2026-01-02T03:04:05.000Z');
    await recordToolDiscovery(fixture.db, server.id, { functions: FUNCTIONS }, at);
    expect(await getTool(ctx, server.id)).toMatchObject({
      functions: FUNCTIONS,
      discoveredAt: at.toISOString(),
      discoveryError: null,
    });
    await expect(agentWith(server.id, ['open_ticket'])).resolves.toMatchObject({ name: 'Support' });
    await expect(agentWith(server.id, ['open_ticket', 'delete_everything'])).rejects.toMatchObject({
      code: 'invalid_config',
      details: [
        { path: 'tools.0.functions.1', message: expect.stringContaining('find_customer, open_ticket') },
      ],
    });
  });

  it('survive a failed discovery, which is recorded', async () => {
    const server = await newServer();
    await recordToolDiscovery(fixture.db, server.id, { functions: FUNCTIONS });
    await recordToolDiscovery(fixture.db, server.id, { error: 'the server answered 502' });
    expect(await getTool(ctx, server.id)).toMatchObject({
      functions: FUNCTIONS,
      discoveredAt: expect.any(String),
      discoveryError: 'the server answered 502',
    });
  });

  it('are forgotten when the server moves elsewhere', async () => {
    const server = await newServer();
    await recordToolDiscovery(fixture.db, server.id, { functions: FUNCTIONS });
    await updateTool(ctx, server.id, { name: 'CRM (renamed)' });
    expect((await getTool(ctx, server.id)).functions).toEqual(FUNCTIONS);
    await updateTool(ctx, server.id, { mcp: mcpSettings('https://crm2.example.test/mcp') });
    expect(await getTool(ctx, server.id)).toMatchObject({ functions: [], discoveredAt: null });
  });

  it('are recorded only for MCP tools', async () => {
    const webhook = await createTool(ctx, {
      kind: 'webhook',
      name: 'Hook',
      functionName: 'hook',
      description: 'A hook',
      parameters: { type: 'object', properties: {} },
      webhook: {
        url: 'https://hooks.example.test/',
        method: 'POST',
        headers: {},
        timeoutMs: 5000,
        retries: 0,
        waitingMessage: '',
        async: false,
      },
    });
    await expect(recordToolDiscovery(fixture.db, webhook.id, { functions: FUNCTIONS })).rejects.toMatchObject(
      {
        code: 'tool_not_found',
      },
    );
  });
});
