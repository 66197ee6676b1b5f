import { WebhookSettings, type JsonSchemaObject } from '@parley/contracts';
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  startLocalTestServer,
  type LocalTestServer,
  type ReceivedRequest,
} from '../testing/local-test-server.js';
import { runWebhookFunction, type RunWebhookFunctionInput } from './run-webhook-function.js';
import type { WebhookRunRecord } from './send-webhook.js';
import { testWebhookFunction } from './test-webhook-function.js';

type Seen = ReceivedRequest & { res: ServerResponse };

type Handler = (seen: Seen) => void;

// A tool server reached as tools.test.
let server: LocalTestServer;
let port: number;
let handlers: Handler[];
let seen: ReceivedRequest[];
let arrivals: ((s: Seen) => void)[];

beforeAll(async () => {
  server = await startLocalTestServer({
    handler: (request, res) => {
      const s = { ...request, res };
      // The last handler answers every further request.
      const handler = handlers.length > 1 ? handlers.shift() : handlers[0];
      handler?.(s);
      arrivals.shift()?.(s);
    },
  });
  port = server.port;
  seen = server.requests;
});
afterAll(() => server.close());

beforeEach(() => {
  server.reset();
  arrivals = [];
  handlers = [json(200, { ok: true })];
});

afterEach(() => server.dropConnections());

function answer(...next: Handler[]) {
  handlers = next;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return ({ res }) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

function text(status: number, body: string): Handler {
  return ({ res }) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  };
}

/** Holds the response until the test answers it. */
const hold: Handler = () => undefined;

/** The next request to reach the server. */
function nextRequest(): Promise<Seen> {
  return new Promise((resolve) => arrivals.push(resolve));
}

const parameters: JsonSchemaObject = {
  type: 'object',
  properties: {
    order_number: { type: 'string' },
    quantity: { type: 'number' },
  },
  required: ['order_number'],
};

function input(
  webhook: Partial<WebhookSettings> = {},
  overrides: Partial<RunWebhookFunctionInput> = {},
): RunWebhookFunctionInput {
  return {
    functionName: 'lookup_order',
    parameters,
    webhook: WebhookSettings.parse({
      url: `http://tools.test:${port}/orders/{{order_number}}`,
      headers: { 'X-Shop': 'north' },
      ...webhook,
    }),
    arguments: { order_number: 'A/17 b', quantity: 2 },
    variables: { 'call.id': 'call_1', 'call.direction': 'inbound', 'agent.id': 'agent_1' },
    credential: { headerName: 'Authorization', value: 'Bearer s3cret-token' },
    outbound: { lookup: server.lookup, allowedHosts: server.allowedHosts },
    backoffBaseMs: 1,
    ...overrides,
  };
}

const content = (record: WebhookRunRecord) => JSON.parse(record.outcome.content);

describe('runWebhookFunction', () => {
  it('sends the request the tool describes and gives the model the compacted answer', async () => {
    answer(json(200, { status: 'shipped', eta: '2026-11-24' }));

    const record = await runWebhookFunction(input());

    expect(record).toMatchObject({
      outcome: { status: 'ok', content: '{"status":"shipped","eta":"2026-11-24"}' },
      attempts: 1,
      status: 200,
    });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/orders/A%2F17%20b');
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer s3cret-token',
      'x-shop': 'north',
      'content-type': 'application/json',
      'user-agent': 'Parley',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({
      name: 'lookup_order',
      arguments: { order_number: 'A/17 b', quantity: 2 },
      call: { id: 'call_1', direction: 'inbound', agentId: 'agent_1' },
    });
  });

  it('puts a GET function’s arguments in the query string', async () => {
    await runWebhookFunction(
      input(
        { method: 'GET', url: `http://tools.test:${port}/orders/{{order_number}}?shop=north` },
        { arguments: { order_number: 'A17', quantity: 2, filter: { open: true } } },
      ),
    );

    expect(seen[0]?.method).toBe('GET');
    const url = new URL(seen[0]?.path ?? '', 'http://x');
    expect(url.pathname).toBe('/orders/A17');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      shop: 'north',
      quantity: '2',
      filter: '{"open":true}',
    });
    expect(seen[0]?.body).toBe('');
  });

  it('refuses arguments that break the schema without sending anything', async () => {
    const record = await runWebhookFunction(input({}, { arguments: { quantity: 'two' } }));

    expect(record.outcome).toEqual({
      status: 'error',
      code: 'invalid_arguments',
      content: JSON.stringify({
        error: 'Invalid arguments for lookup_order: order_number is required; quantity must be a number',
      }),
    });
    expect(record.attempts).toBe(0);
    expect(seen).toHaveLength(0);
  });

  it('answers `timeout` when the service holds its response past the timeout', async () => {
    answer(hold);

    const record = await runWebhookFunction(input({ timeoutMs: 150 }));

    expect(record.outcome).toMatchObject({ status: 'error', code: 'timeout' });
    expect(content(record).error).toBe('The lookup_order service did not answer within 150 ms');
    expect(record.errorCode).toBe('timeout');
  });

  it('retries a 500 as many times as configured, then fails with the status and the body', async () => {
    answer(json(500, { message: 'database unavailable' }));

    const record = await runWebhookFunction(input({ retries: 2 }));

    expect(seen).toHaveLength(3);
    expect(record).toMatchObject({ attempts: 3, status: 500, errorCode: 'http_status' });
    expect(record.outcome).toMatchObject({ status: 'error', code: 'failed' });
    expect(content(record)).toEqual({
      error: 'The lookup_order service answered 500',
      body: '{"message":"database unavailable"}',
    });
  });

  it('does not retry a 404: the answer will not change', async () => {
    answer(text(404, 'no such order'));

    const record = await runWebhookFunction(input({ retries: 2 }));

    expect(seen).toHaveLength(1);
    expect(content(record)).toEqual({
      error: 'The lookup_order service answered 404',
      body: 'no such order',
    });
  });

  it('succeeds on the retry after a 503 (with the real backoff)', async () => {
    answer(text(503, 'busy'), json(200, { status: 'shipped' }));

    const record = await runWebhookFunction(input({ retries: 1 }, { backoffBaseMs: undefined }));

    expect(seen).toHaveLength(2);
    expect(record).toMatchObject({ outcome: { status: 'ok', content: '{"status":"shipped"}' }, attempts: 2 });
  });

  it('honours a short Retry-After on a 429 and gives up on a long one', async () => {
    answer(json(429, {}, { 'retry-after': '0' }), json(200, { ok: 1 }));
    expect((await runWebhookFunction(input({ retries: 1 }))).outcome.status).toBe('ok');
    expect(seen).toHaveLength(2);

    server.reset();
    answer(json(429, { slow: 'down' }, { 'retry-after': '30' }));
    const record = await runWebhookFunction(input({ retries: 3 }));
    expect(seen).toHaveLength(1);
    expect(record).toMatchObject({ status: 429, outcome: { status: 'error', code: 'failed' } });
  });

  it('fails on an oversized response', async () => {
    answer(text(200, 'x'.repeat(300 * 1024)));

    const record = await runWebhookFunction(input());

    expect(record).toMatchObject({ errorCode: 'response_too_large', outcome: { code: 'failed' } });
    expect(content(record).error).toBe(
      'The lookup_order request failed: the service’s response was too large',
    );
  });

  it('truncates a long JSON answer for the model with a note of its length', async () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ sku: `SKU-${i}`, name: 'A pair of socks' }));
    answer(({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(items, null, 2));
    });

    const record = await runWebhookFunction(input());

    const compact = JSON.stringify(items);
    expect(record.outcome.content).toBe(
      `${compact.slice(0, 4000)}…(truncated: the response was ${compact.length} characters)`,
    );
  });

  it('tells the model the request succeeded when the service answers with no body', async () => {
    answer(({ res }) => res.writeHead(204).end());

    const record = await runWebhookFunction(input());

    expect(record.outcome).toEqual({ status: 'ok', content: '{"status":"ok"}' });
  });

  it('refuses a private address unless the operator allowed it, without reaching it', async () => {
    const record = await runWebhookFunction(
      input({ url: `http://127.0.0.1:${port}/orders/{{order_number}}` }, { outbound: {} }),
    );

    expect(seen).toHaveLength(0);
    expect(record).toMatchObject({
      errorCode: 'address_refused',
      outcome: { status: 'error', code: 'failed' },
    });
    expect(content(record).error).toBe(
      'The lookup_order request failed: the tool’s address is not allowed (it points to a private or local network)',
    );
    expect(record.outcome.content).not.toContain('127.0.0.1');
  });

  it('stops when the caller’s signal aborts mid-request', async () => {
    answer(hold);
    const controller = new AbortController();

    const running = runWebhookFunction(input({ retries: 2 }, { signal: controller.signal }));
    await nextRequest();
    controller.abort();
    const record = await running;

    expect(record).toMatchObject({ errorCode: 'aborted', attempts: 1, outcome: { status: 'error' } });
    expect(seen).toHaveLength(1);
  });

  it('fire and forget: answers at once, and reports the answer through onSettled', async () => {
    answer(hold);
    const arrived = nextRequest();
    const settled: WebhookRunRecord[] = [];
    let onSettledCalled!: () => void;
    const settledOnce = new Promise<void>((resolve) => (onSettledCalled = resolve));
    const controller = new AbortController();

    const record = await runWebhookFunction(
      input(
        { async: true },
        {
          signal: controller.signal,
          onSettled: (r) => {
            settled.push(r);
            onSettledCalled();
          },
        },
      ),
    );

    expect(record.outcome).toEqual({ status: 'ok', content: '{"status":"sent"}' });
    const request = await arrived;
    // The turn ending does not cancel the errand.
    controller.abort();
    expect(settled).toHaveLength(0);
    json(200, { queued: true })(request);
    await settledOnce;
    expect(settled[0]).toMatchObject({
      outcome: { status: 'ok', content: '{"queued":true}' },
      status: 200,
      attempts: 1,
    });
  });

  it('fills a body template with JSON values, and escaped text inside strings', async () => {
    await runWebhookFunction(
      input({
        body: '{"order": {{order_number}}, "qty": {{quantity}}, "note": "call {{call.id}}: {{order_number}}"}',
      }),
    );

    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ order: 'A/17 b', qty: 2, note: 'call call_1: A/17 b' });
  });

  it('fails clearly when the body template does not make JSON, without sending it', async () => {
    const record = await runWebhookFunction(input({ body: '{"order": {{order_number}} }}' }));

    expect(seen).toHaveLength(0);
    expect(record).toMatchObject({ errorCode: 'invalid_body_template', outcome: { code: 'failed' } });
    expect(content(record).error).toMatch(/^The body template of lookup_order does not make valid JSON/);
    expect(record.outcome.content).not.toContain('A/17');
  });
});

describe('testWebhookFunction', () => {
  it('shows the request as sent with the secret masked, and the answer', async () => {
    answer(json(201, { id: 'ord_9' }));

    const result = await testWebhookFunction(input());

    expect(result.outcome).toEqual({ status: 'ok', code: null, content: '{"id":"ord_9"}' });
    expect(result.request).toMatchObject({
      method: 'POST',
      url: `http://tools.test:${port}/orders/A%2F17%20b`,
      headers: { authorization: '••••', 'x-shop': 'north' },
    });
    expect(JSON.stringify(result)).not.toContain('s3cret');
    expect(result.response).toMatchObject({ status: 201, body: '{"id":"ord_9"}', truncated: false });
  });
});
