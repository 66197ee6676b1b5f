import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalTestServer, type LocalTestServer } from '../testing/local-test-server.js';
import {
  fetchAssistantRequest,
  parseAssistantAnswer,
  type AssistantRequestBody,
  type FetchAssistantRequestInput,
} from './fetch-assistant-request.js';

// The customer's server, reached as hooks.test; internal.test resolves to it too but is not allowed.
let server: LocalTestServer;
beforeAll(async () => {
  server = await startLocalTestServer({ hosts: ['hooks.test'], unlistedHosts: ['internal.test'] });
});
afterAll(() => server.close());
afterEach(() => server.dropConnections());

function answering(status: number, body: string): void {
  server.reset((_request, res) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
}

const AGENT = '6f1c2d3e-0000-4000-8000-0000000000a1';
const OTHER_AGENT = '6f1c2d3e-0000-4000-8000-0000000000b2';
const BODY: AssistantRequestBody = {
  type: 'assistant_request',
  call: {
    direction: 'inbound',
    carrier: 'twilio',
    carrierCallId: 'CA123',
    from: '+15550001111',
    to: '+15557654321',
    phoneNumberId: '6f1c2d3e-0000-4000-8000-0000000000c3',
  },
  agentId: AGENT,
};

function input(overrides: Partial<FetchAssistantRequestInput> = {}): FetchAssistantRequestInput {
  return {
    config: { url: server.url('/assistant?key=q-secret'), headers: {}, timeoutMs: 1500 },
    body: BODY,
    credentials: async () => {
      throw new Error('no credential expected');
    },
    allowedHosts: server.allowedHosts,
    lookup: server.lookup,
    ...overrides,
  };
}

describe('parseAssistantAnswer', () => {
  it('reads the agent, the variables (flattened like the pre-call hook’s) and the overrides', () => {
    expect(
      parseAssistantAnswer({
        agentId: OTHER_AGENT.toUpperCase(),
        variables: { customer: { name: 'Ada' }, vip: true, tags: ['x'] },
        firstMessage: 'Hello {{customer.name}}',
        systemPrompt: 'You are the VIP desk.',
        somethingElse: 1,
      }),
    ).toEqual({
      ok: true,
      answer: {
        agentId: OTHER_AGENT,
        variables: { 'customer.name': 'Ada', vip: true },
        firstMessage: 'Hello {{customer.name}}',
        systemPrompt: 'You are the VIP desk.',
      },
    });
  });

  it('takes an empty answer, or nulls, as "the number’s agent, as it is"', () => {
    expect(parseAssistantAnswer({})).toEqual({ ok: true, answer: { variables: {} } });
    expect(
      parseAssistantAnswer({ agentId: null, variables: null, firstMessage: null, systemPrompt: null }),
    ).toEqual({ ok: true, answer: { variables: {} } });
  });

  it('refuses a field of the wrong type, naming it', () => {
    const cases: [unknown, string][] = [
      [{ agentId: 'front-desk' }, '`agentId`'],
      [{ agentId: 42 }, '`agentId`'],
      [{ variables: ['a'] }, '`variables`'],
      [{ variables: 'a=b' }, '`variables`'],
      [{ firstMessage: 7 }, '`firstMessage`'],
      [{ firstMessage: 'x'.repeat(2001) }, '`firstMessage` must be a string of at most 2000 characters'],
      [{ systemPrompt: { text: 'x' } }, '`systemPrompt`'],
    ];
    for (const [answer, named] of cases) {
      const parsed = parseAssistantAnswer(answer);
      expect(parsed, JSON.stringify(answer).slice(0, 80)).toMatchObject({
        ok: false,
        code: 'invalid_answer',
      });
      if (!parsed.ok) expect(parsed.reason).toContain(named);
    }
  });

  it('refuses what is not a JSON object', () => {
    for (const answer of [null, 'agent', 3, [{ agentId: OTHER_AGENT }]]) {
      expect(parseAssistantAnswer(answer)).toMatchObject({ ok: false, code: 'not_an_object' });
    }
  });

  it('keeps at most 100 variables, each cut to 2000 characters', () => {
    const many = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`v${i}`, i]));
    const parsed = parseAssistantAnswer({ variables: { long: 'x'.repeat(5000), ...many } });
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(Object.keys(parsed.answer.variables)).toHaveLength(100);
    expect(parsed.answer.variables['long']).toHaveLength(2000);
  });
});

describe('fetchAssistantRequest', () => {
  it('posts the call as JSON with the configured headers and the credential’s secret', async () => {
    answering(200, JSON.stringify({ agentId: OTHER_AGENT, firstMessage: 'Hi' }));
    const result = await fetchAssistantRequest(
      input({
        config: {
          url: server.url('/assistant'),
          headers: { 'X-Tenant': 'acme' },
          credentialId: 'cred-1',
          timeoutMs: 1500,
        },
        credentials: async () => ({ secret: 'sk_live_123', headerName: 'X-Api-Key' }),
      }),
    );
    expect(result).toEqual({
      ok: true,
      answer: { agentId: OTHER_AGENT, variables: {}, firstMessage: 'Hi' },
      latencyMs: expect.any(Number),
    });
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/assistant' });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-tenant': 'acme',
      'x-api-key': 'sk_live_123',
    });
    expect(JSON.parse(request!.body)).toEqual(BODY);
  });

  it('gives up at the timeout while the server holds its answer', async () => {
    server.reset(() => undefined);
    const result = await fetchAssistantRequest(
      input({ config: { url: server.url('/slow'), headers: {}, timeoutMs: 200 } }),
    );
    expect(result).toMatchObject({ ok: false, code: 'timeout' });
    if (result.ok) return;
    expect(result.latencyMs).toBeGreaterThanOrEqual(190);
    expect(result.latencyMs).toBeLessThan(1500);
  });

  it('fails on a non-2xx answer or an invalid one, without repeating the body', async () => {
    answering(500, '{"error":"database password is hunter2"}');
    expect(await fetchAssistantRequest(input())).toMatchObject({
      ok: false,
      code: 'http_status',
      reason: 'answered HTTP 500',
    });
    answering(200, '<html>hunter2</html>');
    expect(await fetchAssistantRequest(input())).toMatchObject({ ok: false, code: 'not_json' });
    answering(200, '{"agentId":"hunter2"}');
    const invalid = await fetchAssistantRequest(input());
    expect(invalid).toMatchObject({ ok: false, code: 'invalid_answer' });
    expect(JSON.stringify(invalid)).not.toContain('hunter2');
  });

  it('sends nothing over http to a host the operator did not allow', async () => {
    answering(200, '{}');
    const result = await fetchAssistantRequest(
      input({ config: { ...input().config, url: server.url('/', 'internal.test') } }),
    );
    expect(result).toMatchObject({ ok: false, code: 'insecure_url' });
    expect(server.requests).toHaveLength(0);
  });

  it('follows no redirect: the call’s numbers go only to the configured URL', async () => {
    server.reset((_request, res) => {
      res.statusCode = 308;
      res.setHeader('location', server.url('/elsewhere'));
      res.end();
    });
    const result = await fetchAssistantRequest(input());
    expect(result).toMatchObject({ ok: false, code: 'too_many_redirects' });
    expect(server.requests.map((request) => request.path)).toEqual(['/assistant?key=q-secret']);
  });

  it('refuses a host that resolves to a private address the operator did not allow', async () => {
    answering(200, '{}');
    const url = `https://internal.test:${server.port}/assistant?key=q-secret`;
    const result = await fetchAssistantRequest(input({ config: { ...input().config, url } }));
    expect(result).toMatchObject({ ok: false, code: 'address_refused' });
    expect(server.requests).toHaveLength(0);
    if (!result.ok) expect(result.reason).not.toContain('q-secret');
  });

  it('fails with a safe reason when the credential cannot be read, sending nothing', async () => {
    answering(200, '{}');
    const result = await fetchAssistantRequest(
      input({
        config: { ...input().config, credentialId: 'gone' },
        credentials: async () => {
          throw new Error('credential_not_found: secret details');
        },
      }),
    );
    expect(result).toMatchObject({ ok: false, code: 'credential_unavailable' });
    expect(server.requests).toHaveLength(0);
  });
});
