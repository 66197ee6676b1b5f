import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startTwilioCaller } from '../twilio-caller.js';
import { parseTwiml, signTwilioRequest, startTwilioRestSimulator } from './twilio.js';
import type { TwilioRestSimulator } from './twilio.js';

describe('signTwilioRequest', () => {
  it("matches Twilio's published example signature", () => {
    // Twilio's signature-validation docs (api-snippets, security/signature_validation).
    const form = new URLSearchParams({
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675310',
      Digits: '1234',
      From: '+14158675310',
      To: '+18005551212',
    });
    expect(signTwilioRequest('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', form)).toBe(
      'GvWf1cFY/Q7PnoempGyD5oXAezc=',
    );
  });

  it('matches the vector checked against twilio.validateRequest in the wire-protocol reference', () => {
    const form = new URLSearchParams({ CallSid: 'CA123', From: '+15550001111', To: '+15550002222' });
    expect(signTwilioRequest('authtoken', 'https://example.com/twilio/voice?foo=1', form)).toBe(
      'H0OKXOG62ZXJw/0DLmHT1jsNV9o=',
    );
  });
});

describe('parseTwiml', () => {
  it('reads verbs, attributes and decoded text', () => {
    const response = parseTwiml(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Say voice='alice'>Fish &amp; chips &#x263A;</Say>\n` +
        `  <Connect><Stream url="wss://a.example/m"><Parameter name="k" value="&quot;v&quot;"/></Stream></Connect>\n` +
        `  <Hangup/>\n</Response>`,
    );
    expect(response.children.map((verb) => verb.name)).toEqual(['Say', 'Connect', 'Hangup']);
    expect(response.children[0]).toMatchObject({ attributes: { voice: 'alice' }, text: 'Fish & chips ☺' });
    expect(response.children[1]!.children[0]!.children[0]!.attributes).toEqual({ name: 'k', value: '"v"' });
  });

  it('refuses documents Twilio would refuse', () => {
    expect(() => parseTwiml('<Response><Say>hi</Response>')).toThrow(/closes/);
    expect(() => parseTwiml('<Response><Say>hi</Say>')).toThrow(/never closed/);
    expect(() => parseTwiml('<Say>hi</Say>')).toThrow(/Response/);
    expect(() => parseTwiml('<Response><Say attr=unquoted>hi</Say></Response>')).toThrow(/malformed/);
  });
});

describe('the REST simulator', () => {
  let twilio: TwilioRestSimulator;

  beforeEach(async () => {
    twilio = await startTwilioRestSimulator({ accountSid: 'AC' + '1'.repeat(32), authToken: 'token-1' });
  });

  afterEach(async () => {
    await twilio.close();
  });

  const createUrl = (): string => `${twilio.baseUrl}/2010-04-01/Accounts/${twilio.accountSid}/Calls.json`;
  const basic = (user: string, password: string): string =>
    'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

  it('answers a request without the account credentials with 401 and a Twilio error body', async () => {
    const response = await fetch(createUrl(), {
      method: 'POST',
      headers: { authorization: basic(twilio.accountSid, 'wrong') },
      body: new URLSearchParams({ To: '+14155550100', From: '+14155550199', Url: 'https://a.example/x' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 20003, status: 401 });
    expect(twilio.calls.size).toBe(0);
    expect(twilio.requests[0]).toMatchObject({
      authorized: false,
      authUser: twilio.accountSid,
      responseStatus: 401,
    });
  });

  it('refuses a call without a To number, as Twilio does', async () => {
    const response = await fetch(createUrl(), {
      method: 'POST',
      headers: { authorization: basic(twilio.accountSid, 'token-1') },
      body: new URLSearchParams({ From: '+14155550199', Url: 'https://a.example/x' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 21201 });
  });

  it('creates a queued call and cancels it while it rings', async () => {
    const auth = { authorization: basic(twilio.accountSid, 'token-1') };
    const created = await fetch(createUrl(), {
      method: 'POST',
      headers: auth,
      body: new URLSearchParams({ To: '+14155550100', From: '+14155550199', Url: 'https://a.example/x' }),
    });
    expect(created.status).toBe(201);
    const call = (await created.json()) as { sid: string; status: string };
    expect(call).toMatchObject({
      status: 'queued',
      direction: 'outbound-api',
      account_sid: twilio.accountSid,
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);

    twilio.setCallStatus(call.sid, 'ringing');
    const canceled = await fetch(createUrl().replace('.json', `/${call.sid}.json`), {
      method: 'POST',
      headers: auth,
      body: new URLSearchParams({ Status: 'canceled' }),
    });
    expect(await canceled.json()).toMatchObject({ sid: call.sid, status: 'canceled' });
  });

  it('ends the attached media stream when an update replaces the call’s TwiML: stop, then close', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    const events: string[] = [];
    const closed = new Promise<void>((resolve) =>
      server.on('connection', (socket) => {
        socket.on('message', (data) => events.push((JSON.parse(String(data)) as { event: string }).event));
        socket.on('close', () => resolve());
      }),
    );
    await once(server, 'listening');
    const auth = { authorization: basic(twilio.accountSid, 'token-1') };
    const created = await fetch(createUrl(), {
      method: 'POST',
      headers: auth,
      body: new URLSearchParams({ To: '+14155550100', From: '+14155550199', Url: 'https://a.example/x' }),
    });
    const { sid } = (await created.json()) as { sid: string };
    twilio.setCallStatus(sid, 'in-progress');
    const stream = await startTwilioCaller({
      url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      callSid: sid,
    });
    twilio.attachStream(sid, stream);

    const updated = await fetch(createUrl().replace('.json', `/${sid}.json`), {
      method: 'POST',
      headers: auth,
      body: new URLSearchParams({ Twiml: '<Response><Play digits="1"/></Response>' }),
    });
    expect(updated.status).toBe(200);
    await closed;
    expect(events[0]).toBe('connected');
    expect(events.at(-1)).toBe('stop');
    expect(twilio.call(sid).redirects).toEqual([{ twiml: '<Response><Play digits="1"/></Response>' }]);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
