import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startPlivoRestSimulator } from '@parley/testkit';
import type { PlivoRestSimulator } from '@parley/testkit';
import { TelephonyError } from '../carrier.js';
import { PlivoCallControl } from './call-control.js';
import type { PlivoStatusUpdate } from './webhook.js';
import { buildPlivoStreamDocument, parsePlivoStatusCallback, verifyPlivoSignature } from './webhook.js';

/** Parley's webhook side, reduced to what the outbound-call tests need: verify, parse, answer. */
class WebhookEndpoint {
  readonly updates: PlivoStatusUpdate[] = [];
  readonly signatureChecks: boolean[] = [];
  baseUrl = '';
  private readonly server: Server;

  constructor(private readonly authToken: string) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
        const url = `${this.baseUrl}${request.url}`;
        this.signatureChecks.push(
          verifyPlivoSignature({
            url,
            method: 'POST',
            params,
            headers: request.headers,
            authToken: this.authToken,
          }),
        );
        if (request.url?.startsWith('/answer')) {
          const document = buildPlivoStreamDocument({
            mediaUrl: 'wss://app.example.com/media',
            extraHeaders: { callId: 'c1' },
          });
          response.writeHead(200, { 'content-type': document.contentType });
          response.end(document.body);
          return;
        }
        const parsed = parsePlivoStatusCallback(params);
        if (parsed.ok) this.updates.push(parsed.update);
        response.writeHead(parsed.ok ? 200 : 400);
        response.end();
      });
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let simulator: PlivoRestSimulator;
let webhooks: WebhookEndpoint;
let control: PlivoCallControl;

beforeEach(async () => {
  simulator = await startPlivoRestSimulator({
    authId: 'MAXXXXXXXXXXXXXXXXXX',
    authToken: 'plivo-secret-token',
  });
  webhooks = await new WebhookEndpoint(simulator.authToken).start();
  control = new PlivoCallControl({
    authId: simulator.authId,
    authToken: simulator.authToken,
    baseUrl: simulator.baseUrl,
    transferDocumentUrl: (to, callId) =>
      `${webhooks.baseUrl}/transfer?call=${callId}&to=${encodeURIComponent(to)}`,
  });
});

afterEach(async () => {
  await simulator.close();
  await webhooks.close();
});

function request() {
  return {
    to: '+14155550111',
    from: '+14155550100',
    answerUrl: `${webhooks.baseUrl}/answer`,
    statusCallbackUrl: `${webhooks.baseUrl}/status`,
  };
}

async function rejection(promise: Promise<unknown>): Promise<TelephonyError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TelephonyError);
  return error as TelephonyError;
}

describe('PlivoCallControl against the Plivo simulator', () => {
  it('places a call with Basic auth and the fields Plivo expects', async () => {
    const { carrierCallId } = await control.createCall({
      ...request(),
      ringTimeoutSeconds: 25,
      machineDetection: true,
    });
    expect(simulator.calls.has(carrierCallId)).toBe(true);
    expect(simulator.requests).toHaveLength(1);
    const [recorded] = simulator.requests;
    expect(recorded).toMatchObject({
      method: 'POST',
      path: '/Account/MAXXXXXXXXXXXXXXXXXX/Call/',
      authorized: true,
      responseStatus: 201,
    });
    expect(recorded!.body).toEqual({
      from: '14155550100',
      to: '14155550111',
      answer_url: `${webhooks.baseUrl}/answer`,
      answer_method: 'POST',
      ring_url: `${webhooks.baseUrl}/status`,
      ring_method: 'POST',
      hangup_url: `${webhooks.baseUrl}/status`,
      hangup_method: 'POST',
      ring_timeout: 25,
      machine_detection: 'true',
      machine_detection_url: `${webhooks.baseUrl}/status`,
      machine_detection_method: 'POST',
    });
    expect(control.capabilities).toEqual({
      outbound: true,
      hangUp: true,
      transfer: true,
      sendDtmf: true,
      machineDetection: true,
    });
  });

  it('leaves out ring timeout and machine detection when not asked', async () => {
    await control.createCall(request());
    const body = simulator.requests[0]!.body!;
    expect(Object.keys(body)).not.toContain('ring_timeout');
    expect(Object.keys(body)).not.toContain('machine_detection');
  });

  it('an outbound call end to end: signed callbacks parse, transfer, DTMF, hang-up', async () => {
    const { carrierCallId } = await control.createCall({ ...request(), machineDetection: true });
    await simulator.ring(carrierCallId);
    const { xml } = await simulator.answer(carrierCallId);
    expect(xml).toContain('<Stream bidirectional="true"');
    await simulator.machineDetected(carrierCallId, false);
    const callUuid = simulator.call(carrierCallId).callUuid!;
    expect(webhooks.updates.map((update) => [update.status, update.answeredBy, update.requestUuid])).toEqual([
      ['ringing', undefined, carrierCallId],
      ['in_progress', 'human', carrierCallId],
    ]);

    await control.sendDtmf(callUuid, '12#');
    await control.transfer(callUuid, '+14155550122');
    expect(simulator.call(carrierCallId).digits).toEqual(['12#']);
    expect(simulator.call(carrierCallId).transfers).toEqual([
      `${webhooks.baseUrl}/transfer?call=${callUuid}&to=%2B14155550122`,
    ]);
    const [dtmf, transfer] = simulator.requests.slice(1);
    expect(dtmf).toMatchObject({
      path: `/Account/MAXXXXXXXXXXXXXXXXXX/Call/${callUuid}/DTMF/`,
      responseStatus: 202,
    });
    expect(dtmf!.body).toEqual({ digits: '12#', leg: 'aleg' });
    expect(transfer).toMatchObject({
      path: `/Account/MAXXXXXXXXXXXXXXXXXX/Call/${callUuid}/`,
      responseStatus: 202,
    });
    expect(transfer!.body).toMatchObject({ legs: 'aleg', aleg_method: 'POST' });
    // Plivo then fetches the transfer's document, signed like a callback.
    await vi.waitFor(() => expect(simulator.callbacks.map((cb) => cb.kind)).toContain('transfer'));

    await control.hangUp(callUuid);
    expect(simulator.call(carrierCallId).status).toBe('completed');
    await simulator.hangup(carrierCallId, 'completed');
    expect(webhooks.updates.at(-1)).toMatchObject({
      carrierCallId: callUuid,
      status: 'completed',
      carrierReason: 'Normal Hangup',
    });
    expect(webhooks.signatureChecks.every(Boolean)).toBe(true);
    // ring, answer, machine detection, the transfer's document, hangup
    expect(webhooks.signatureChecks).toHaveLength(5);
  });

  it('posts arbitrary signed callbacks that Parley verifies and parses', async () => {
    const reply = await simulator.sendSignedCallback(`${webhooks.baseUrl}/status?org=o1`, {
      CallUUID: 'u9',
      CallStatus: 'failed',
      HangupCauseName: 'Unallocated Number',
    });
    expect(reply.status).toBe(200);
    expect(webhooks.signatureChecks).toEqual([true]);
    expect(webhooks.updates).toEqual([
      { carrierCallId: 'u9', status: 'failed', carrierReason: 'Unallocated Number' },
    ]);
  });

  it('hangs up a call still ringing by cancelling its request, and treats a gone call as hung up', async () => {
    const { carrierCallId } = await control.createCall(request());
    await control.hangUp(carrierCallId);
    expect(
      simulator.requests
        .slice(1)
        .map((recorded) => [recorded.method, recorded.path, recorded.responseStatus]),
    ).toEqual([
      ['DELETE', `/Account/MAXXXXXXXXXXXXXXXXXX/Call/${carrierCallId}/`, 404],
      ['DELETE', `/Account/MAXXXXXXXXXXXXXXXXXX/Request/${carrierCallId}/`, 204],
    ]);
    expect(simulator.call(carrierCallId).status).toBe('cancel');
    await expect(control.hangUp(carrierCallId)).resolves.toBeUndefined();
  });
});

describe('PlivoCallControl errors', () => {
  it('maps refused credentials to auth without leaking them', async () => {
    const wrong = new PlivoCallControl({
      authId: simulator.authId,
      authToken: 'wrong-token-123',
      baseUrl: simulator.baseUrl,
    });
    const error = await rejection(wrong.createCall(request()));
    expect(error).toMatchObject({ carrier: 'plivo', code: 'auth', details: { httpStatus: 401 } });
    expect(error.message).toBe('Plivo createCall: HTTP 401');
    expect(error.retryable).toBe(false);
    expect(simulator.requests[0]!.authorized).toBe(false);
  });

  it.each([
    [400, 'invalid_request', false],
    [402, 'invalid_request', false],
    [404, 'not_found', false],
    [429, 'rate_limited', true],
    [500, 'carrier_error', true],
    [503, 'carrier_error', true],
  ] as const)('HTTP %i → %s', async (status, code, retryable) => {
    simulator.failNextRequest({ status });
    const error = await rejection(control.createCall(request()));
    expect(error).toMatchObject({ code, details: { httpStatus: status } });
    expect(error.retryable).toBe(retryable);
    expect(error.message).not.toContain('14155550111');
  });

  it('a 2xx without request_uuid, or with a body that is not JSON, is a carrier error', async () => {
    simulator.failNextRequest({ status: 201, rawBody: '<html>proxy</html>' });
    expect(await rejection(control.createCall(request()))).toMatchObject({ code: 'carrier_error' });
  });

  it('an unreachable API is a retryable network error', async () => {
    const closed = await startPlivoRestSimulator();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const offline = new PlivoCallControl({ authId: 'MA1', authToken: 'secret-token-x', baseUrl });
    const error = await rejection(offline.hangUp('some-call'));
    expect(error).toMatchObject({ code: 'network' });
    expect(error.retryable).toBe(true);
    expect(error.message).not.toContain('secret-token-x');
  });

  it('refuses bad input before calling the API, naming the field and not the number', async () => {
    const badTo = await rejection(control.createCall({ ...request(), to: '4155550111' }));
    expect(badTo).toMatchObject({ code: 'invalid_request' });
    expect(badTo.message).toBe('Plivo createCall: to must be an E.164 number');
    expect(await rejection(control.createCall({ ...request(), ringTimeoutSeconds: 0 }))).toMatchObject({
      code: 'invalid_request',
    });
    expect(await rejection(control.sendDtmf('u1', '12x'))).toMatchObject({ code: 'invalid_request' });
    expect(await rejection(control.transfer('u1', 'not-a-number'))).toMatchObject({
      code: 'invalid_request',
    });
    expect(simulator.requests).toEqual([]);
  });

  it('transfer without a dial-document URL is unsupported, and says what to configure', async () => {
    const plain = new PlivoCallControl({
      authId: simulator.authId,
      authToken: simulator.authToken,
      baseUrl: simulator.baseUrl,
    });
    expect(plain.capabilities.transfer).toBe(false);
    const error = await rejection(plain.transfer('u1', '+14155550122'));
    expect(error.code).toBe('unsupported');
    expect(error.message).toMatch(/transferDocumentUrl/);
    expect(simulator.requests).toEqual([]);
  });

  it('needs credentials', () => {
    expect(() => new PlivoCallControl({ authId: '', authToken: 'x' })).toThrow(TelephonyError);
  });
});
