import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelnyxRestSimulator } from '@parley/testkit';
import type { TelnyxRestSimulator } from '@parley/testkit';
import { TelephonyError } from '../carrier.js';
import type { CreateCallRequest } from '../carrier.js';
import { TelnyxCallControl } from './call-control.js';
import { decodeTelnyxClientState } from './messages.js';

let telnyx: TelnyxRestSimulator;
let control: TelnyxCallControl;

const REQUEST: CreateCallRequest = {
  to: '+15550001111',
  from: '+15550002222',
  answerUrl: 'wss://parley.example/media/telnyx?callId=c_1&token=t',
  statusCallbackUrl: 'https://parley.example/webhooks/telnyx',
  ringTimeoutSeconds: 25,
  machineDetection: true,
};

beforeAll(async () => {
  telnyx = await startTelnyxRestSimulator({ apiKey: 'KEY_secret', connectionId: 'conn-1' });
  control = new TelnyxCallControl({
    apiKey: 'KEY_secret',
    connectionId: 'conn-1',
    baseUrl: telnyx.baseUrl,
    streaming: { streamAuthToken: 'stream-tok' },
  });
});

afterAll(async () => {
  await telnyx.close();
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

function expectNoSecrets(error: Error): void {
  for (const secret of ['KEY_secret', 'stream-tok', '+15550001111', '+15550002222'])
    expect(error.message).not.toContain(secret);
}

function lastRequest() {
  return telnyx.requests.at(-1)!;
}

describe('TelnyxCallControl.createCall', () => {
  it('dials with the bidirectional media stream attached and webhooks to our URL', async () => {
    const { carrierCallId } = await control.createCall(REQUEST);
    const request = lastRequest();
    expect(request).toMatchObject({ method: 'POST', path: '/v2/calls', authorized: true });
    expect(request.headers.authorization).toBe('Bearer KEY_secret');
    expect(request.json).toEqual({
      connection_id: 'conn-1',
      to: '+15550001111',
      from: '+15550002222',
      webhook_url: 'https://parley.example/webhooks/telnyx',
      webhook_url_method: 'POST',
      stream_url: 'wss://parley.example/media/telnyx?callId=c_1&token=t',
      stream_track: 'inbound_track',
      stream_codec: 'PCMU',
      stream_bidirectional_mode: 'rtp',
      stream_bidirectional_codec: 'PCMU',
      stream_auth_token: 'stream-tok',
      client_state: expect.any(String),
      timeout_secs: 25,
      answering_machine_detection: 'greeting_end',
    });
    // The media URL's parameters travel as client_state, so they come back in `start` and webhooks.
    expect(decodeTelnyxClientState(request.json!['client_state'] as string)).toEqual({
      callId: 'c_1',
      token: 't',
    });
    expect(telnyx.calls.get(carrierCallId)).toMatchObject({ direction: 'outgoing', to: '+15550001111' });
  });

  it('refuses a stream URL that is not a WebSocket URL, without calling Telnyx', async () => {
    const before = telnyx.requests.length;
    const error = await failure(
      control.createCall({ ...REQUEST, answerUrl: 'https://parley.example/answer' }),
    );
    expect(error.code).toBe('invalid_request');
    expect(telnyx.requests.length).toBe(before);
  });

  it('maps refused credentials to auth without quoting the key', async () => {
    const wrong = new TelnyxCallControl({
      apiKey: 'KEY_wrong',
      connectionId: 'conn-1',
      baseUrl: telnyx.baseUrl,
    });
    const error = await failure(wrong.createCall(REQUEST));
    expect(error).toMatchObject({
      carrier: 'telnyx',
      code: 'auth',
      details: { httpStatus: 401, carrierCode: '10009' },
    });
    expect(error.message).not.toContain('KEY_wrong');
    expectNoSecrets(error);
  });

  it('maps a refused parameter to invalid_request with Telnyx’s code', async () => {
    const other = new TelnyxCallControl({
      apiKey: 'KEY_secret',
      connectionId: 'not-mine',
      baseUrl: telnyx.baseUrl,
    });
    const error = await failure(other.createCall(REQUEST));
    expect(error).toMatchObject({
      code: 'invalid_request',
      details: { httpStatus: 422, carrierCode: '10015' },
    });
    expect(error.message).toBe('Telnyx createCall failed: HTTP 422 (code 10015)');
  });

  it.each([
    [429, 'rate_limited', true],
    [500, 'carrier_error', true],
    [503, 'carrier_error', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    telnyx.failNext(status);
    const error = await failure(control.createCall(REQUEST));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expectNoSecrets(error);
  });

  it('maps an unreachable API to network', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const offline = new TelnyxCallControl({
      apiKey: 'KEY_secret',
      connectionId: 'conn-1',
      baseUrl: `http://127.0.0.1:${port}`,
    });
    const error = await failure(offline.createCall(REQUEST));
    expect(error.code).toBe('network');
    expectNoSecrets(error);
  });
});

describe('commands on a live call', () => {
  it('answers an inbound call with the stream attached', async () => {
    const call = telnyx.addIncomingCall({ webhookUrl: 'https://parley.example/webhooks/telnyx' });
    await control.answer(call.callControlId, {
      streamUrl: 'wss://parley.example/media/telnyx?callId=c_in',
      clientState: { agent: 'a1' },
    });
    const request = lastRequest();
    expect(request).toMatchObject({ action: 'answer', callControlId: call.callControlId, authorized: true });
    expect(request.json).toMatchObject({
      stream_url: 'wss://parley.example/media/telnyx?callId=c_in',
      stream_bidirectional_mode: 'rtp',
      stream_track: 'inbound_track',
    });
    expect(decodeTelnyxClientState(call.clientState)).toEqual({ callId: 'c_in', agent: 'a1' });
  });

  it('sends DTMF, transfers and hangs up, each as its Call Control action', async () => {
    const { carrierCallId } = await control.createCall(REQUEST);
    await control.sendDtmf(carrierCallId, '1w2#');
    expect(lastRequest()).toMatchObject({ action: 'send_dtmf', json: { digits: '1w2#' } });
    await control.transfer(carrierCallId, '+15550003333');
    expect(lastRequest()).toMatchObject({ action: 'transfer', json: { to: '+15550003333' } });
    await control.hangUp(carrierCallId);
    expect(lastRequest()).toMatchObject({
      path: `/v2/calls/${encodeURIComponent(carrierCallId)}/actions/hangup`,
      json: {},
    });
    expect(telnyx.calls.get(carrierCallId)!.ended).toBe(true);
  });

  it('treats hanging up a call that already ended (90018) as done, but not other commands', async () => {
    const { carrierCallId } = await control.createCall(REQUEST);
    telnyx.endCall(carrierCallId);
    await expect(control.hangUp(carrierCallId)).resolves.toBeUndefined();
    expect(await failure(control.transfer(carrierCallId, '+15550003333'))).toMatchObject({
      code: 'invalid_request',
      details: { carrierCode: '90018' },
    });
  });

  it('maps an unknown call to not_found', async () => {
    expect(await failure(control.hangUp('v3:nobody'))).toMatchObject({
      code: 'not_found',
      details: { httpStatus: 404 },
    });
  });

  it('refuses DTMF digits Telnyx cannot play, without calling it', async () => {
    const before = telnyx.requests.length;
    expect(await failure(control.sendDtmf('v3:x', '12x'))).toMatchObject({ code: 'invalid_request' });
    expect(telnyx.requests.length).toBe(before);
  });

  it('declares everything supported', () => {
    expect(control.capabilities).toEqual({
      outbound: true,
      hangUp: true,
      transfer: true,
      sendDtmf: true,
      machineDetection: true,
    });
  });
});
