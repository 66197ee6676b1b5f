import { describe, expect, it } from 'vitest';
import {
  buildWebhookRequest,
  credentialHeader,
  maskedWebhookRequest,
  WebhookRequestError,
  type WebhookRequestInput,
} from './webhook-request.js';

const base: WebhookRequestInput = {
  functionName: 'book_slot',
  webhook: { url: 'https://api.example.com/slots', method: 'POST', headers: {} },
  arguments: { day: 'Monday', people: 4, vip: true, contact: { name: 'Ana "A" Lopez' } },
  variables: { 'call.id': 'call_1', 'customer.number': '+33612345678', 'var.shop': 'north' },
};

describe('buildWebhookRequest', () => {
  it('fills URL placeholders URL-encoded, from arguments first and then call variables', () => {
    const request = buildWebhookRequest({
      ...base,
      webhook: {
        ...base.webhook,
        url: 'https://api.example.com/{{var.shop}}/{{contact.name}}?from={{customer.number}}',
      },
    });
    expect(request.url).toBe('https://api.example.com/north/Ana%20%22A%22%20Lopez?from=%2B33612345678');
  });

  it('sends arguments and the call in the default body', () => {
    const request = buildWebhookRequest(base);
    expect(JSON.parse(request.body ?? '')).toEqual({
      name: 'book_slot',
      arguments: base.arguments,
      call: { id: 'call_1', direction: null, agentId: null },
    });
    expect(request.headers).toEqual({ 'content-type': 'application/json', 'user-agent': 'Parley' });
  });

  it('fills a body template with JSON values, escaped inside string literals, null when unknown', () => {
    const request = buildWebhookRequest({
      ...base,
      webhook: {
        ...base.webhook,
        body: '{"d": {{day}}, "n": {{people}}, "v": {{vip}}, "c": {{contact}}, "x": {{missing}}, "s": "{{contact.name}} \\"{{day}}\\" {{contact}}"}',
      },
    });
    expect(JSON.parse(request.body ?? '')).toEqual({
      d: 'Monday',
      n: 4,
      v: true,
      c: { name: 'Ana "A" Lopez' },
      x: null,
      s: 'Ana "A" Lopez "Monday" {"name":"Ana \\"A\\" Lopez"}',
    });
  });

  it('says which template is broken, without the caller’s data', () => {
    const build = () =>
      buildWebhookRequest({ ...base, webhook: { ...base.webhook, body: '{"day": {{day}}, }' } });
    expect(build).toThrow(WebhookRequestError);
    expect(build).toThrow(/^The body template of book_slot does not make valid JSON once filled in/);
    try {
      build();
    } catch (error) {
      expect((error as Error).message).not.toContain('Monday');
    }
  });

  it('puts a DELETE’s arguments in the query string, objects as JSON, and sends no body', () => {
    const request = buildWebhookRequest({
      ...base,
      webhook: { ...base.webhook, method: 'DELETE', url: 'https://api.example.com/slots/{{day}}' },
    });
    expect(request.body).toBeUndefined();
    expect(request.headers['content-type']).toBeUndefined();
    const url = new URL(request.url);
    expect(url.pathname).toBe('/slots/Monday');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      people: '4',
      vip: 'true',
      contact: '{"name":"Ana \\"A\\" Lopez"}',
    });
  });

  it('adds the credential and masks it, and only it, in the view', () => {
    const request = buildWebhookRequest({
      ...base,
      webhook: { ...base.webhook, headers: { 'X-Shop': 'north' } },
      credential: credentialHeader({ secret: 'sk_live_123' }),
    });
    expect(request.headers.authorization).toBe('Bearer sk_live_123');
    const view = maskedWebhookRequest(request);
    expect(view.headers).toEqual({
      authorization: '••••',
      'x-shop': 'north',
      'content-type': 'application/json',
      'user-agent': 'Parley',
    });
    expect(JSON.stringify(view)).not.toContain('sk_live_123');
  });

  it('sends a credential with its own header name as it is', () => {
    expect(credentialHeader({ secret: 'k', headerName: 'X-Api-Key' })).toEqual({
      headerName: 'X-Api-Key',
      value: 'k',
    });
  });
});
