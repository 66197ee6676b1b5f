// The access rules of every organization route in one table: each role and each API-key scope is
// allowed exactly what the permission matrix grants, and another organization's objects answer 404
// through a session and through a key. A new route must be added to ROUTES (a test checks that).
import { ROLE_PERMISSIONS, SCOPE_PERMISSIONS, type Permission } from '@parley/services';
import type { ApiKeyScope, Role } from '@parley/contracts';
import { auditLog, calls, count, eq } from '@parley/db';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Client, type Harness, type SignedInUser } from '../testing/harness.js';
import { addMember, invite } from '../testing/teams.js';
import { FakeDialer } from '../testing/fake-dialer.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
type Targets = Record<string, string>;

interface Route {
  method: Method;
  path: string;
  permission: Permission;
  body?: (t: Targets) => unknown;
  /** Creates what the path names (`:agent`, `:credential`, …) in the given organization. */
  targets?: (owner: SignedInUser) => Promise<Targets>;
  /** Allowed calls would destroy the fixture (delete or give away the organization): check denials only. */
  denialsOnly?: boolean;
}

let h: Harness;
let ownerA: SignedInUser;
let ownerB: SignedInUser;
const roleClients = {} as Record<Role, Client>;

async function created(client: Client, url: string, body: unknown): Promise<string> {
  const response = await client.post(url, body);
  if (response.status !== 201) throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id;
}

const newAgent = async (owner: SignedInUser) => ({
  agent: await created(owner.client, '/api/v1/agents', { name: 'Matrix agent' }),
});
const publishedAgent = async (owner: SignedInUser) => {
  const { agent } = await newAgent(owner);
  await owner.client.post(`/api/v1/agents/${agent}/publish`);
  return { agent };
};
const newCredential = async (owner: SignedInUser) => ({
  credential: await created(owner.client, '/api/v1/credentials', {
    name: 'OpenAI',
    provider: 'openai',
    values: { apiKey: 'sk-matrix-0123456789abcdef' },
  }),
});
let numbers = 0;
/** A number no other test registered: numbers are unique per carrier on the whole instance. */
const freshNumber = () => `+1415555${String(++numbers).padStart(4, '0')}`;
const newPhoneNumber = async (owner: SignedInUser) => ({
  phoneNumber: await created(owner.client, '/api/v1/phone-numbers', {
    carrier: 'twilio',
    number: freshNumber(),
    name: 'Matrix number',
  }),
});
/** What placing a call in an organization needs: a published agent and a number with its credential. */
const callSetups = new Map<string, Promise<{ agent: string; from: string }>>();
const callSetup = (owner: SignedInUser) => {
  let setup = callSetups.get(owner.organizationId);
  if (!setup) {
    setup = (async () => {
      const { agent } = await publishedAgent(owner);
      const credentialId = await created(owner.client, '/api/v1/credentials', {
        name: 'Twilio',
        provider: 'twilio',
        values: {
          accountSid: 'AC0123456789abcdef0123456789abcdef',
          authToken: '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e',
        },
      });
      const from = freshNumber();
      await created(owner.client, '/api/v1/phone-numbers', { carrier: 'twilio', number: from, credentialId });
      return { agent, from };
    })();
    callSetups.set(owner.organizationId, setup);
  }
  return setup;
};
const callBody = (setup: { agent: string; from: string }) => ({
  agentId: setup.agent,
  from: setup.from,
  to: '+14155550199',
});
/** Organization A's call fixture, ready before the tests (route bodies are built synchronously). */
let callSetupA: { agent: string; from: string };
const newCall = async (owner: SignedInUser) => ({
  call: await created(owner.client, '/api/v1/calls', callBody(await callSetup(owner))),
});
/** A call with a recording on disk (as the runtime leaves it: a WAV file the call row points to). */
let recordingsDir: string;
const newRecordedCall = async (owner: SignedInUser) => {
  const { call } = await newCall(owner);
  const recordingPath = path.join(recordingsDir, `${call}.wav`);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(32_000, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  await writeFile(recordingPath, header);
  await h.database.db.update(calls).set({ recordingPath }).where(eq(calls.id, call));
  return { call };
};
/** A call a runtime is carrying (in progress and claimed), for call control; the bus is a no-op here. */
const newLiveCall = async (owner: SignedInUser) => {
  const { call } = await newCall(owner);
  await h.database.db
    .update(calls)
    .set({ status: 'in_progress', runtimeId: 'matrix-runtime' })
    .where(eq(calls.id, call));
  return { call };
};
/** A webhook endpoint on an address the SSRF guard refuses: its test ping fails at once, offline. */
const newWebhookEndpoint = async (owner: SignedInUser) => ({
  webhookEndpoint: await created(owner.client, '/api/v1/webhook-endpoints', {
    url: 'http://127.0.0.1:9/hooks',
  }),
});
/** A delivery of that endpoint (its test ping). */
const newWebhookDelivery = async (owner: SignedInUser) => {
  const { webhookEndpoint } = await newWebhookEndpoint(owner);
  const ping = await owner.client.post(`/api/v1/webhook-endpoints/${webhookEndpoint}/test`);
  if (ping.status !== 200) throw new Error(`test ping: ${ping.status} ${JSON.stringify(ping.body)}`);
  return { webhookDelivery: ping.body.id as string };
};
const newApiKey = async (owner: SignedInUser) => ({
  apiKey: await created(owner.client, '/api/v1/api-keys', { name: 'matrix', scopes: ['agents:read'] }),
});
let functions = 0;
/** A webhook tool body whose function name no other test used: names are unique in an organization. */
const toolBody = () => ({
  kind: 'webhook',
  name: 'Matrix tool',
  functionName: `matrix_${++functions}`,
  description: 'Looks something up',
  webhook: { url: 'https://tools.example.test/lookup' },
});
const newTool = async (owner: SignedInUser) => ({
  tool: await created(owner.client, '/api/v1/tools', toolBody()),
});
/**
 * Tools whose "try it" and discovery requests the SSRF guard refuses at once (a loopback address the
 * operator did not allow): the route still answers, with the refusal as the outcome.
 */
const newLoopbackTool = async (owner: SignedInUser) => ({
  tool: await created(owner.client, '/api/v1/tools', {
    ...toolBody(),
    webhook: { url: 'http://127.0.0.1:9/lookup' },
  }),
});
const newMcpTool = async (owner: SignedInUser) => ({
  tool: await created(owner.client, '/api/v1/tools', {
    kind: 'mcp',
    name: 'Matrix MCP',
    mcp: { url: 'http://127.0.0.1:9/mcp' },
  }),
});
/** A catalog tool, published by the instance administrator: every organization sees it. */
const catalogTool = async () => ({
  tool: await created(h.operator.client, '/api/v1/admin/tools', {
    ...toolBody(),
    name: 'Catalog tool',
  }),
});
const newMember = async (owner: SignedInUser) => ({
  member: (await addMember(h, owner, 'viewer', 'matrix-member')).userId,
});
const newInvitation = async (owner: SignedInUser) => ({
  invitation: (
    await invite(owner.client, `invitee-${Math.random().toString(36).slice(2)}@example.test`, 'viewer')
  ).id,
});

const ROUTES: Route[] = [
  { method: 'GET', path: '/organization', permission: 'organization:read' },
  {
    method: 'PATCH',
    path: '/organization',
    permission: 'organization:update',
    body: () => ({ name: 'Renamed' }),
  },
  { method: 'DELETE', path: '/organization', permission: 'organization:delete', denialsOnly: true },
  {
    method: 'POST',
    path: '/organization/transfer-ownership',
    permission: 'organization:transfer',
    targets: newMember,
    body: (t) => ({ userId: t.member }),
    denialsOnly: true,
  },
  { method: 'GET', path: '/members', permission: 'members:read' },
  {
    method: 'PATCH',
    path: '/members/:member',
    permission: 'members:write',
    targets: newMember,
    body: () => ({ role: 'member' }),
  },
  { method: 'DELETE', path: '/members/:member', permission: 'members:write', targets: newMember },
  { method: 'GET', path: '/invitations', permission: 'members:read' },
  {
    method: 'POST',
    path: '/invitations',
    permission: 'members:write',
    body: () => ({ email: `new-${Math.random().toString(36).slice(2)}@example.test`, role: 'viewer' }),
  },
  { method: 'DELETE', path: '/invitations/:invitation', permission: 'members:write', targets: newInvitation },
  { method: 'GET', path: '/api-keys', permission: 'api_keys:read' },
  {
    method: 'POST',
    path: '/api-keys',
    permission: 'api_keys:write',
    body: () => ({ name: 'k', scopes: ['agents:read'] }),
  },
  { method: 'GET', path: '/api-keys/:apiKey', permission: 'api_keys:read', targets: newApiKey },
  { method: 'DELETE', path: '/api-keys/:apiKey', permission: 'api_keys:write', targets: newApiKey },
  { method: 'GET', path: '/credentials', permission: 'credentials:read' },
  {
    method: 'POST',
    path: '/credentials',
    permission: 'credentials:write',
    body: () => ({ name: 'Deepgram', provider: 'deepgram', values: { apiKey: 'dg-0123456789' } }),
  },
  { method: 'GET', path: '/credentials/:credential', permission: 'credentials:read', targets: newCredential },
  {
    method: 'PATCH',
    path: '/credentials/:credential',
    permission: 'credentials:write',
    targets: newCredential,
    body: () => ({ name: 'Renamed' }),
  },
  {
    method: 'DELETE',
    path: '/credentials/:credential',
    permission: 'credentials:write',
    targets: newCredential,
  },
  { method: 'GET', path: '/agents', permission: 'agents:read' },
  { method: 'POST', path: '/agents', permission: 'agents:write', body: () => ({ name: 'New agent' }) },
  { method: 'GET', path: '/agents/:agent', permission: 'agents:read', targets: newAgent },
  {
    method: 'PATCH',
    path: '/agents/:agent',
    permission: 'agents:write',
    targets: newAgent,
    body: () => ({ firstMessage: 'Hi!' }),
  },
  { method: 'DELETE', path: '/agents/:agent', permission: 'agents:write', targets: newAgent },
  { method: 'POST', path: '/agents/:agent/publish', permission: 'agents:write', targets: newAgent },
  { method: 'GET', path: '/agents/:agent/versions', permission: 'agents:read', targets: publishedAgent },
  { method: 'GET', path: '/agents/:agent/versions/1', permission: 'agents:read', targets: publishedAgent },
  {
    method: 'POST',
    path: '/agents/:agent/versions/1/restore',
    permission: 'agents:write',
    targets: publishedAgent,
  },
  { method: 'GET', path: '/phone-numbers', permission: 'phone_numbers:read' },
  {
    method: 'POST',
    path: '/phone-numbers',
    permission: 'phone_numbers:write',
    body: () => ({ carrier: 'telnyx', number: freshNumber() }),
  },
  {
    method: 'GET',
    path: '/phone-numbers/:phoneNumber',
    permission: 'phone_numbers:read',
    targets: newPhoneNumber,
  },
  {
    method: 'PATCH',
    path: '/phone-numbers/:phoneNumber',
    permission: 'phone_numbers:write',
    targets: newPhoneNumber,
    body: () => ({ name: 'Renamed' }),
  },
  {
    method: 'DELETE',
    path: '/phone-numbers/:phoneNumber',
    permission: 'phone_numbers:write',
    targets: newPhoneNumber,
  },
  { method: 'GET', path: '/calls', permission: 'calls:read' },
  { method: 'POST', path: '/calls', permission: 'calls:write', body: () => callBody(callSetupA) },
  { method: 'GET', path: '/calls/export.csv', permission: 'calls:read' },
  { method: 'GET', path: '/calls/:call', permission: 'calls:read', targets: newCall },
  { method: 'GET', path: '/calls/:call/events', permission: 'calls:read', targets: newCall },
  { method: 'GET', path: '/calls/:call/transcript', permission: 'calls:read', targets: newCall },
  { method: 'GET', path: '/calls/:call/recording', permission: 'calls:read', targets: newRecordedCall },
  // A WebSocket (supervisor listen): refusals come before the upgrade, so a plain GET shows them; an
  // allowed one answers 426 (the call here is not live either): call-listen.db.test.ts upgrades it.
  {
    method: 'GET',
    path: '/calls/:call/listen',
    permission: 'calls:read',
    targets: newCall,
    denialsOnly: true,
  },
  { method: 'POST', path: '/calls/:call/cancel', permission: 'calls:write', targets: newCall },
  {
    method: 'POST',
    path: '/calls/:call/control',
    permission: 'calls:write',
    targets: newLiveCall,
    body: () => ({ type: 'mute' }),
  },
  { method: 'DELETE', path: '/calls/:call', permission: 'calls:write', targets: newCall },
  { method: 'GET', path: '/tools', permission: 'tools:read' },
  { method: 'POST', path: '/tools', permission: 'tools:write', body: toolBody },
  { method: 'GET', path: '/tools/:tool', permission: 'tools:read', targets: newTool },
  {
    method: 'PATCH',
    path: '/tools/:tool',
    permission: 'tools:write',
    targets: newTool,
    body: () => ({ name: 'Renamed' }),
  },
  { method: 'DELETE', path: '/tools/:tool', permission: 'tools:write', targets: newTool },
  {
    method: 'PUT',
    path: '/tools/:tool/settings',
    permission: 'tools:write',
    // Organization A sets its settings on a catalog tool; B's own tool is what A must not reach.
    targets: (owner) => (owner === ownerA ? catalogTool() : newTool(owner)),
    body: () => ({ headers: { 'X-Tenant': 'matrix' } }),
  },
  {
    method: 'POST',
    path: '/tools/:tool/test',
    permission: 'tools:write',
    targets: newLoopbackTool,
    body: () => ({ arguments: {} }),
  },
  { method: 'POST', path: '/tools/:tool/refresh', permission: 'tools:write', targets: newMcpTool },
  { method: 'GET', path: '/leads', permission: 'calls:read' },
  {
    method: 'GET',
    path: '/analytics/summary?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
    permission: 'calls:read',
  },
  { method: 'GET', path: '/webhook-endpoints', permission: 'webhooks:read' },
  {
    method: 'POST',
    path: '/webhook-endpoints',
    permission: 'webhooks:write',
    body: () => ({ url: 'https://hooks.example.test/parley', eventTypes: ['call.ended'] }),
  },
  {
    method: 'GET',
    path: '/webhook-endpoints/:webhookEndpoint',
    permission: 'webhooks:read',
    targets: newWebhookEndpoint,
  },
  {
    method: 'PATCH',
    path: '/webhook-endpoints/:webhookEndpoint',
    permission: 'webhooks:write',
    targets: newWebhookEndpoint,
    body: () => ({ description: 'Renamed' }),
  },
  {
    method: 'DELETE',
    path: '/webhook-endpoints/:webhookEndpoint',
    permission: 'webhooks:write',
    targets: newWebhookEndpoint,
  },
  {
    method: 'POST',
    path: '/webhook-endpoints/:webhookEndpoint/rotate-secret',
    permission: 'webhooks:write',
    targets: newWebhookEndpoint,
  },
  {
    method: 'GET',
    path: '/webhook-endpoints/:webhookEndpoint/deliveries',
    permission: 'webhooks:read',
    targets: newWebhookEndpoint,
  },
  {
    method: 'POST',
    path: '/webhook-endpoints/:webhookEndpoint/test',
    permission: 'webhooks:write',
    targets: newWebhookEndpoint,
  },
  {
    method: 'POST',
    path: '/webhook-deliveries/:webhookDelivery/replay',
    permission: 'webhooks:write',
    targets: newWebhookDelivery,
  },
  { method: 'GET', path: '/audit-log', permission: 'audit_log:read' },
  { method: 'GET', path: '/calls/active', permission: 'calls:read' },
  // An allowed stream never ends (events.db.test.ts follows it on a real connection): denials here.
  {
    method: 'GET',
    path: '/events?callId=:call',
    permission: 'calls:read',
    targets: newCall,
    denialsOnly: true,
  },
  {
    method: 'GET',
    path: '/events/ws?callId=:call',
    permission: 'calls:read',
    targets: newCall,
    denialsOnly: true,
  },
];

/** Routes that act on no organization, or on the instance; they have their own tests. */
const NOT_ORGANIZATION_ROUTES = new Set([
  'GET /auth/status',
  'POST /auth/setup',
  'POST /auth/signup',
  'POST /auth/login',
  'POST /auth/logout',
  'GET /me',
  'GET /info',
  'POST /organizations',
  'POST /invitations/accept',
  'GET /admin/organizations',
  'POST /admin/organizations/{id}/suspend',
  'POST /admin/organizations/{id}/reactivate',
  'GET /admin/settings',
  'PATCH /admin/settings',
  'POST /admin/tools',
  'PATCH /admin/tools/{id}',
  'DELETE /admin/tools/{id}',
  'GET /providers',
  'GET /runtimes',
  'POST /runtimes/{id}/drain',
  'POST /runtimes/{id}/resume',
]);

async function auditCount(organizationId: string): Promise<number> {
  const [row] = await h.database.db
    .select({ n: count() })
    .from(auditLog)
    .where(eq(auditLog.organizationId, organizationId));
  return row?.n ?? 0;
}

const label = (r: Route) => `${r.method} ${r.path}`;
const fill = (path: string, t: Targets) =>
  `/api/v1${path.replace(/:(\w+)/g, (_m, name: string) => t[name] ?? `:${name}`)}`;
const call = (client: Client, route: Route, t: Targets) =>
  client.request(
    route.method,
    fill(route.path, t),
    route.method === 'GET' || route.method === 'DELETE' ? undefined : (route.body?.(t) ?? {}),
  );

beforeAll(async () => {
  // The calls placed here stay queued: limits high enough for every role and scope to place some.
  h = await createHarness({
    dialer: new FakeDialer(),
    callLimits: { maxConcurrentCalls: 10_000, callsPerMinute: 10_000 },
  });
  recordingsDir = await mkdtemp(path.join(tmpdir(), 'parley-matrix-'));
  // Call control's commands go nowhere: the runtime's side has its own tests.
  h.deps.callCommands = { send: async () => {} };
  ownerA = await h.signup('owner-a');
  ownerB = await h.signup('owner-b');
  roleClients.owner = ownerA.client;
  for (const role of ['admin', 'member', 'viewer'] as const)
    roleClients[role] = (await addMember(h, ownerA, role)).client;
  callSetupA = await callSetup(ownerA);
}, 60_000);
afterAll(async () => {
  await h.close();
  await rm(recordingsDir, { recursive: true, force: true });
});

describe('the route table', () => {
  it('covers every organization route the API serves', async () => {
    const spec = (await h.anonymous.get('/api/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const served = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace('/api/v1', '')}`),
    );
    const covered = new Set(
      ROUTES.map(
        (r) =>
          `${r.method} ${r.path
            .split('?')[0]!
            .replace(/:(\w+)/g, '{id}')
            .replace('/versions/1', '/versions/{version}')}`,
      ),
    );
    const normalise = (s: string) =>
      s.replace(/\{[^}]+\}/g, '{id}').replace('/versions/{id}', '/versions/{version}');
    const missing = served
      .filter((s) => s.includes(' /') && !s.startsWith('GET /healthz') && !s.startsWith('GET /readyz'))
      .map(normalise)
      .filter((s) => !covered.has(s) && !NOT_ORGANIZATION_ROUTES.has(s));
    expect(missing).toEqual([]);
  });
});

describe('roles', () => {
  for (const route of ROUTES) {
    it(`${label(route)} is allowed exactly for the roles granted ${route.permission}`, async () => {
      for (const role of ['viewer', 'member', 'admin', 'owner'] as const) {
        const allowed = ROLE_PERMISSIONS[role].has(route.permission);
        if (allowed && route.denialsOnly) continue;
        const targets = (await route.targets?.(ownerA)) ?? {};
        const auditBefore = await auditCount(ownerA.organizationId);
        const response = await call(roleClients[role], route, targets);
        if (allowed) {
          expect(response.status, `${role}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
          // Every mutation leaves its audit row; reads leave none.
          const written = (await auditCount(ownerA.organizationId)) - auditBefore;
          if (route.method === 'GET') expect(written).toBe(0);
          else expect(written, `${label(route)} wrote no audit row`).toBeGreaterThanOrEqual(1);
        } else {
          expect([response.status, response.body.error?.code], role).toEqual([403, 'forbidden']);
        }
      }
    });
  }
});

describe('API-key scopes', () => {
  const keys = {} as Record<ApiKeyScope, Client>;
  beforeAll(async () => {
    for (const scope of Object.keys(SCOPE_PERMISSIONS) as ApiKeyScope[])
      keys[scope] = await h.apiKey(ownerA, [scope]);
  }, 60_000);

  for (const route of ROUTES) {
    it(`${label(route)} is allowed exactly for the scopes granting ${route.permission}`, async () => {
      for (const scope of Object.keys(SCOPE_PERMISSIONS) as ApiKeyScope[]) {
        const allowed =
          SCOPE_PERMISSIONS[scope].includes(route.permission) || route.permission === 'organization:read';
        if (allowed && route.denialsOnly) continue;
        const targets = (await route.targets?.(ownerA)) ?? {};
        const response = await call(keys[scope], route, targets);
        if (allowed) expect(response.status, `${scope}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
        else expect([response.status, response.body.error?.code], scope).toEqual([403, 'forbidden']);
      }
    });
  }
});

describe('tenant isolation', () => {
  let keyA: Client;
  beforeAll(async () => {
    keyA = await h.apiKey(ownerA, ['admin']);
  });

  for (const route of ROUTES.filter((r) => r.targets)) {
    it(`${label(route)} on another organization's object is a 404, via session and via key`, async () => {
      // No key may transfer or delete an organization, so only the session can try those.
      const keyMayTry = SCOPE_PERMISSIONS.admin.includes(route.permission);
      for (const client of keyMayTry ? [ownerA.client, keyA] : [ownerA.client]) {
        const targets = await route.targets!(ownerB);
        const response = await call(client, route, targets);
        expect(response.status, JSON.stringify(response.body)).toBe(404);
        expect(response.body.error.code).toMatch(/_not_found$/);
      }
    });
  }

  it("lists never include another organization's objects", async () => {
    const objects = {
      ...(await newAgent(ownerB)),
      ...(await newCredential(ownerB)),
      ...(await newApiKey(ownerB)),
      ...(await newPhoneNumber(ownerB)),
      ...(await newCall(ownerB)),
      ...(await newTool(ownerB)),
    };
    for (const client of [ownerA.client, keyA]) {
      for (const url of [
        '/api/v1/agents',
        '/api/v1/credentials',
        '/api/v1/phone-numbers',
        '/api/v1/calls',
        '/api/v1/calls/export.csv',
        '/api/v1/tools',
        '/api/v1/api-keys',
        '/api/v1/members',
        '/api/v1/invitations',
        '/api/v1/audit-log?limit=100',
      ]) {
        const text = JSON.stringify((await client.get(url)).body);
        for (const id of [...Object.values(objects), ownerB.userId, ownerB.organizationId])
          expect(text, url).not.toContain(id);
      }
    }
  });

  it('naming another organization in Parley-Organization is a 404 on every route, for sessions and keys', async () => {
    for (const client of [
      ownerA.client.inOrganization(ownerB.organizationId),
      keyA.inOrganization(ownerB.organizationId),
    ]) {
      for (const route of ROUTES) {
        const targets = (await route.targets?.(ownerB)) ?? {};
        const response = await call(client, route, targets);
        expect([response.status, response.body.error?.code], label(route)).toEqual([
          404,
          'organization_not_found',
        ]);
      }
    }
  });
});
