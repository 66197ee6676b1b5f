// The agent's own tools during whole calls, through the Twilio simulator: a webhook tool on a local
// HTTP server (reached as `localhost`, which the operator allowed), the same tool failing every way a
// tool fails (each reaching the model as an error result while the call goes on), a slow tool's
// waiting line, a tool URL the SSRF guard refuses, and an MCP server (the official SDK's) of which the
// agent offers one function and calls it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { CreateToolBody, type CreateToolInput } from '@parley/contracts';
import { asc, callEvents, eq } from '@parley/db';
import { createPhoneNumber, createTool } from '@parley/services';
import {
  startMcpTestServer,
  startTwilioRestSimulator,
  type McpTestServer,
  type TwilioCaller,
  type TwilioRestSimulator,
} from '@parley/testkit';
import { registerTelephony } from '../src/telephony/register-telephony.js';
import { agentTexts, GREETING, startInboundCallWorld, type InboundCallWorld } from './inbound-call-world.js';
import { answeredTwilioCall } from './twilio-outbound-call.js';

const ACCOUNT_SID = `AC${'3'.repeat(32)}`;
const AUTH_TOKEN = 'twilio-auth-token-tools-0123456789';
const NUMBER = '+15550003333';
const CUSTOMER = '+15557653333';

let world: InboundCallWorld;
let rest: TwilioRestSimulator;
let mcp: McpTestServer;

/** The customer's tool server: what it received, by path, and a route per behaviour. */
const received: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
const toolServer = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    const path = req.url ?? '';
    received.push({ path, headers: req.headers, body });
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (path.startsWith('/orders/')) json(200, { status: 'shipped', eta: 'Tuesday' });
    else if (path === '/fail') json(500, { error: 'database unavailable' });
    else if (path === '/big') json(200, { blob: 'x'.repeat(400 * 1024) });
    // A slow server: past the 1.5 s after which the waiting line is said, within the tool's timeout.
    else if (path === '/slow') setTimeout(() => json(200, { available: true }), 2200).unref();
    // `/hang` never answers: the tool's own timeout ends the request.
  });
});
let base = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => toolServer.listen(0, '127.0.0.1', resolve));
  const { port } = toolServer.address() as AddressInfo;
  base = `http://localhost:${port}`;
  rest = await startTwilioRestSimulator({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  world = await startInboundCallWorld((app, env) => registerTelephony(app, env), {
    carrierApiUrls: { twilio: rest.baseUrl },
    allowedHosts: ['localhost'],
  });
  const credentialId = await world.credential('twilio', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  await createPhoneNumber(world.org, { carrier: 'twilio', number: NUMBER, credentialId });
  mcp = await startMcpTestServer({
    tools: [
      {
        name: 'find_customer',
        description: 'Finds a customer by phone number',
        inputSchema: { phone: z.string() },
        handler: ({ phone }) => `Customer ${String(phone)} is Ann Lee, gold plan.`,
      },
      { name: 'delete_customer', description: 'Deletes a customer', handler: () => 'deleted' },
    ],
  });
});

afterEach(() => rest?.errors.throwIfAny());

afterAll(async () => {
  await world?.close();
  await rest?.close();
  await mcp?.close();
  toolServer.closeAllConnections();
  await new Promise<void>((resolve) => toolServer.close(() => resolve()));
});

const tool = async (input: CreateToolInput) => (await createTool(world.org, CreateToolBody.parse(input))).id;

const webhookTool = (functionName: string, path: string, webhook: Record<string, unknown> = {}) =>
  tool({
    kind: 'webhook',
    name: functionName,
    functionName,
    description: `Calls ${path}`,
    parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
    webhook: { url: `${base}${path}`, timeoutMs: 1000, ...webhook },
  });

const answeredCall = (agentId: string) =>
  answeredTwilioCall(world, rest, { agentId, to: CUSTOMER, from: NUMBER, authToken: AUTH_TOKEN });

/** Resolves once the greeting has been heard to its end (half a second of quiet after it). */
async function greeted(caller: TwilioCaller): Promise<void> {
  await caller.waitFor(() => caller.firstNonSilentOutboundAfter(0), 15_000);
  await caller.waitFor(() => {
    const last = caller.lastNonSilentOutboundAt();
    return last !== null && performance.now() - last >= 500 ? last : null;
  }, 15_000);
}

/**
 * One exchange: the caller speaks, the model calls `name` with `args`, then says `reply`. Resolves
 * with the tool result the model was given in its next request, once the caller has heard the reply.
 */
async function toolTurn(
  call: { callId: string; callee: TwilioCaller },
  name: string,
  args: unknown,
  reply: string,
): Promise<{ content: string; agentSaid: string }> {
  const before = world.sims.llm.requests.length;
  world.sims.stt.queueUtterance(`please use ${name}`);
  world.sims.llm.script({ toolCalls: [{ name, arguments: JSON.stringify(args) }] }, { text: reply });
  const { endedAtMs } = await call.callee.play('opening-hours');
  const agentSaid = await vi.waitFor(
    async () => {
      const said = (await agentTexts(world, call.callId)).find((text) => text.includes(reply));
      expect(said).toBeDefined();
      return said!;
    },
    { timeout: 15_000, interval: 50 },
  );
  // The caller heard the reply: the agent spoke after the caller's words ended.
  await call.callee.waitFor(() => call.callee.firstNonSilentOutboundAfter(endedAtMs), 5_000);
  const requests = world.sims.llm.requests.slice(before);
  expect(requests).toHaveLength(2);
  const messages = requests[1]!.body.messages as { role: string; content?: string }[];
  const result = messages.filter((m) => m.role === 'tool').at(-1);
  return { content: result?.content ?? '', agentSaid };
}

const offeredNames = (index: number) =>
  ((world.sims.llm.requests[index]!.body.tools ?? []) as { function: { name: string } }[]).map(
    (t) => t.function.name,
  );

describe('webhook tools during a call', () => {
  it('run with the call’s data, and every failure reaches the model as an error while the call goes on', async () => {
    const agentId = await world.publishedAgent({
      variables: [{ name: 'tier', default: 'gold' }],
      tools: [
        {
          toolId: await webhookTool('lookup_order', '/orders/{{order_id}}', {
            body: '{"order":"{{order_id}}","call":"{{call.id}}","tier":"{{var.tier}}","customer":"{{customer.number}}"}',
          }),
        },
        { toolId: await webhookTool('broken_lookup', '/fail') },
        { toolId: await webhookTool('stuck_lookup', '/hang', { timeoutMs: 300 }) },
        { toolId: await webhookTool('huge_lookup', '/big') },
      ],
    });
    const call = await answeredCall(agentId);
    await greeted(call.callee);

    // (a) A valid call: the request carries the arguments and the call's variables.
    const ok = await toolTurn(call, 'lookup_order', { order_id: 'A-17' }, 'It ships on Tuesday.');
    expect(JSON.parse(ok.content)).toEqual({ status: 'shipped', eta: 'Tuesday' });
    const sent = received.find((r) => r.path === '/orders/A-17');
    expect(JSON.parse(sent!.body)).toEqual({
      order: 'A-17',
      call: call.callId,
      tier: 'gold',
      customer: CUSTOMER,
    });
    expect(offeredNames(world.sims.llm.requests.length - 1)).toEqual([
      'end_call',
      'lookup_order',
      'broken_lookup',
      'stuck_lookup',
      'huge_lookup',
    ]);

    // (b) Arguments that break the schema: no request, an error the model can act on.
    const requestsBefore = received.length;
    const invalid = await toolTurn(
      call,
      'lookup_order',
      { order_id: 17 },
      'Could you repeat the order number?',
    );
    expect(invalid.content).toMatch(/Invalid arguments for lookup_order: .*order_id/);
    expect(received.length).toBe(requestsBefore);

    const failed = await toolTurn(call, 'broken_lookup', { order_id: 'B-2' }, 'Our system is down, sorry.');
    expect(failed.content).toMatch(/500/);
    // The default body names the call and its agent.
    expect(JSON.parse(received.find((r) => r.path === '/fail')!.body)).toEqual({
      name: 'broken_lookup',
      arguments: { order_id: 'B-2' },
      call: { id: call.callId, direction: 'outbound', agentId },
    });
    const stuck = await toolTurn(call, 'stuck_lookup', { order_id: 'C-3' }, 'That is taking too long.');
    expect(stuck.content).toMatch(/did not answer within 300 ms/);
    const huge = await toolTurn(call, 'huge_lookup', { order_id: 'D-4' }, 'That answer was too large.');
    expect(JSON.parse(huge.content)).toHaveProperty('error');

    const events = await world.database.db
      .select()
      .from(callEvents)
      .where(eq(callEvents.callId, call.callId))
      .orderBy(asc(callEvents.seq));
    const results = events
      .filter((e) => e.type === 'tool.result')
      .map((e) => [(e.data as { name: string }).name, (e.data as { status: string }).status]);
    expect(results).toEqual([
      ['lookup_order', 'ok'],
      ['lookup_order', 'error'],
      ['broken_lookup', 'error'],
      ['stuck_lookup', 'error'],
      ['huge_lookup', 'error'],
    ]);
    await call.callee.hangUp();
  });

  it('says the tool’s waiting line while a slow tool runs', async () => {
    const agentId = await world.publishedAgent({
      tools: [
        {
          toolId: await webhookTool('check_slot', '/slow', {
            timeoutMs: 5000,
            waitingMessage: 'Let me check the calendar.',
          }),
        },
      ],
    });
    const call = await answeredCall(agentId);
    await greeted(call.callee);
    const slow = await toolTurn(call, 'check_slot', { order_id: 'E-5' }, 'Tuesday at ten is free.');
    expect(JSON.parse(slow.content)).toEqual({ available: true });
    expect(slow.agentSaid).toMatch(/^Let me check the calendar\..*Tuesday at ten is free\.$/);
    await call.callee.hangUp();
  });

  it('refuses a tool URL on a loopback address the operator did not allow: nothing is sent', async () => {
    const { port } = toolServer.address() as AddressInfo;
    const agentId = await world.publishedAgent({
      tools: [
        {
          toolId: await tool({
            kind: 'webhook',
            name: 'internal',
            functionName: 'internal_lookup',
            description: 'An internal lookup',
            // Only the name `localhost` is allowed, not the address it resolves to.
            webhook: { url: `http://127.0.0.1:${port}/orders/internal`, timeoutMs: 1000 },
          }),
        },
      ],
    });
    const call = await answeredCall(agentId);
    await greeted(call.callee);
    const refused = await toolTurn(call, 'internal_lookup', {}, 'I cannot reach that system.');
    expect(JSON.parse(refused.content)).toHaveProperty('error');
    expect(received.some((r) => r.path === '/orders/internal')).toBe(false);
    await call.callee.hangUp();
  });
});

describe('MCP tools during a call', () => {
  it('offers only the selected function and calls it on the server', async () => {
    const url = mcp.url.replace('127.0.0.1', 'localhost');
    const agentId = await world.publishedAgent({
      tools: [
        {
          toolId: await tool({ kind: 'mcp', name: 'CRM', mcp: { url } }),
          functions: ['find_customer'],
        },
      ],
    });
    const call = await answeredCall(agentId);
    await greeted(call.callee);
    const found = await toolTurn(call, 'find_customer', { phone: CUSTOMER }, 'Hello Ann.');
    // (e) The model was offered the selected function only.
    const offered = offeredNames(world.sims.llm.requests.length - 2);
    expect(offered).toContain('find_customer');
    expect(offered).not.toContain('delete_customer');
    // (f) The server ran it, and its answer reached the model.
    expect(mcp.calls).toEqual([
      { name: 'find_customer', arguments: { phone: CUSTOMER }, authorization: undefined },
    ]);
    expect(found.content).toBe(`Customer ${CUSTOMER} is Ann Lee, gold plan.`);
    expect(await agentTexts(world, call.callId)).toEqual([GREETING, 'Hello Ann.']);
    await call.callee.hangUp();
  });
});
