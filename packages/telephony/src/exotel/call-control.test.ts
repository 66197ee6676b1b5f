import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExotelRestSimulator } from '@parley/testkit';
import type { ExotelRestSimulator } from '@parley/testkit';
import { TelephonyError } from '../carrier.js';
import type { CreateCallRequest } from '../carrier.js';
import { ExotelCallControl } from './call-control.js';

let exotel: ExotelRestSimulator;
let control: ExotelCallControl;

const REQUEST: CreateCallRequest = {
  to: '+919800000001',
  from: '08047491899',
  answerUrl: 'wss://parley.example/media/exotel?callId=c_1&token=t',
  statusCallbackUrl: 'https://parley.example/webhooks/exotel/status?token=t',
  ringTimeoutSeconds: 30,
};

beforeAll(async () => {
  exotel = await startExotelRestSimulator({ accountSid: 'acme1', apiKey: 'key_abc', apiToken: 'token_xyz' });
  control = new ExotelCallControl({
    accountSid: 'acme1',
    apiKey: 'key_abc',
    apiToken: 'token_xyz',
    baseUrl: exotel.baseUrl,
  });
});

afterAll(async () => {
  await exotel.close();
});

async function failure(promise: Promise<unknown>): Promise<TelephonyError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a TelephonyError');
    },
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(TelephonyError);
  return error as TelephonyError;
}

/** Nothing secret or personal may reach an error message. */
function expectNoSecrets(error: Error): void {
  for (const secret of ['key_abc', 'token_xyz', '+919800000001', '08047491899'])
    expect(error.message).not.toContain(secret);
}

describe('ExotelCallControl.createCall', () => {
  it('places a Connect Voice AI call streaming to our media URL, with Basic auth', async () => {
    const before = exotel.requests.length;
    const { carrierCallId } = await control.createCall(REQUEST);
    const [request] = exotel.requests.slice(before);
    expect(request).toMatchObject({
      method: 'POST',
      path: '/v1/Accounts/acme1/Calls/connect',
      authorized: true,
    });
    expect(request!.headers.authorization).toBe(
      `Basic ${Buffer.from('key_abc:token_xyz').toString('base64')}`,
    );
    expect(request!.form).toEqual({
      From: ['+919800000001'],
      CallerId: ['08047491899'],
      StreamUrl: ['wss://parley.example/media/exotel?callId=c_1&token=t'],
      StreamType: ['bidirectional'],
      StatusCallback: ['https://parley.example/webhooks/exotel/status?token=t'],
      'StatusCallbackEvents[]': ['ringing', 'answered', 'terminal'],
      TimeOut: ['30'],
    });
    expect(exotel.calls.get(carrierCallId)).toMatchObject({ from: '+919800000001', callerId: '08047491899' });
  });

  it('refuses an answer URL that is not a WebSocket URL, without calling Exotel', async () => {
    const before = exotel.requests.length;
    const error = await failure(
      control.createCall({ ...REQUEST, answerUrl: 'https://parley.example/answer' }),
    );
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/answerUrl must be the ws:\/\/ or wss:\/\/ media URL/);
    expect(exotel.requests.length).toBe(before);
  });

  it('maps refused credentials to auth without quoting them', async () => {
    const wrong = new ExotelCallControl({
      accountSid: 'acme1',
      apiKey: 'key_abc',
      apiToken: 'token_bad',
      baseUrl: exotel.baseUrl,
    });
    const error = await failure(wrong.createCall(REQUEST));
    expect(error).toMatchObject({ carrier: 'exotel', code: 'auth', details: { httpStatus: 401 } });
    expect(error.retryable).toBe(false);
    expectNoSecrets(error);
    expect(error.message).not.toContain('token_bad');
  });

  it.each([
    [400, 'invalid_request', false],
    [404, 'not_found', false],
    [429, 'rate_limited', true],
    [503, 'carrier_error', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    exotel.failNext(status);
    const error = await failure(control.createCall(REQUEST));
    expect(error).toMatchObject({ code, details: { httpStatus: status, carrierCode: status * 100 } });
    expect(error.retryable).toBe(retryable);
    expect(error.message).toBe(`Exotel createCall failed: HTTP ${status} (code ${status * 100})`);
    expectNoSecrets(error);
  });

  it('maps an unreachable API to network', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const offline = new ExotelCallControl({
      accountSid: 'acme1',
      apiKey: 'key_abc',
      apiToken: 'token_xyz',
      baseUrl: `http://127.0.0.1:${port}`,
    });
    const error = await failure(offline.createCall(REQUEST));
    expect(error.code).toBe('network');
    expect(error.retryable).toBe(true);
    expectNoSecrets(error);
  });

  it('reads the Sid from the classic API’s XML answer too', async () => {
    const xml = new ExotelCallControl({
      accountSid: 'acme1',
      apiKey: 'key_abc',
      apiToken: 'token_xyz',
      fetch: async () => new Response('<TwilioResponse><Call><Sid>classic-sid</Sid></Call></TwilioResponse>'),
    });
    expect(await xml.createCall(REQUEST)).toEqual({ carrierCallId: 'classic-sid' });
  });

  it('reports an answer without a Sid as a carrier error', async () => {
    exotel.failNext(200, { call: { status: 'queued' } });
    expect(await failure(control.createCall(REQUEST))).toMatchObject({
      code: 'carrier_error',
      message: 'Exotel createCall: the response has no call Sid',
    });
  });
});

describe('what Exotel cannot do', () => {
  it('declares it and throws unsupported, naming the operation', async () => {
    expect(control.capabilities).toEqual({
      outbound: true,
      hangUp: false,
      transfer: false,
      sendDtmf: false,
      machineDetection: false,
    });
    const before = exotel.requests.length;
    expect(await failure(control.hangUp('CA1'))).toMatchObject({
      code: 'unsupported',
      message: /Exotel hangUp/,
    });
    expect(await failure(control.transfer('CA1', '+919811111111'))).toMatchObject({
      code: 'unsupported',
      message: /Exotel transfer/,
    });
    expect(await failure(control.sendDtmf('CA1', '1'))).toMatchObject({
      code: 'unsupported',
      message: /Exotel sendDtmf/,
    });
    expect(exotel.requests.length).toBe(before);
  });
});
