import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startVobizRestSimulator } from '@parley/testkit';
import type { VobizRestSimulator } from '@parley/testkit';
import { TelephonyError } from '../carrier.js';
import { VobizCallControl } from './call-control.js';
import { parseVobizStatusCallback, verifyVobizSignature } from './webhook.js';

let simulator: VobizRestSimulator;
let control: VobizCallControl;
let webhookServer: Server;
let webhookBase = '';
const received: { verified: boolean; params: Record<string, string> }[] = [];

beforeEach(async () => {
  simulator = await startVobizRestSimulator({ authId: 'MA_TEST01', authToken: 'vobiz-secret-token' });
  control = new VobizCallControl({
    authId: simulator.authId,
    authToken: simulator.authToken,
    baseUrl: simulator.baseUrl,
    transferDocumentUrl: (to) => `${webhookBase}/transfer?to=${encodeURIComponent(to)}`,
  });
  received.length = 0;
  webhookServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
      const verified = verifyVobizSignature({
        url: `${webhookBase}${request.url}`,
        method: 'POST',
        params,
        headers: request.headers,
        authToken: simulator.authToken,
      });
      received.push({ verified, params });
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end('<Response><Hangup/></Response>');
    });
  });
  webhookServer.listen(0, '127.0.0.1');
  await once(webhookServer, 'listening');
  webhookBase = `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await simulator.close();
  await new Promise<void>((resolve) => webhookServer.close(() => resolve()));
});

const call = () => ({
  to: '+919876543210',
  from: '+918012345678',
  answerUrl: `${webhookBase}/answer`,
  statusCallbackUrl: `${webhookBase}/status?org=o1`,
});

describe('VobizCallControl against the Vobiz simulator', () => {
  it('places a call under /api/v1 with X-Auth-ID / X-Auth-Token and E.164 numbers', async () => {
    const { carrierCallId } = await control.createCall({ ...call(), ringTimeoutSeconds: 30 });
    expect(simulator.requests[0]).toMatchObject({
      method: 'POST',
      path: '/Account/MA_TEST01/Call/',
      authorized: true,
      responseStatus: 201,
    });
    expect(simulator.baseUrl).toMatch(/\/api\/v1$/);
    expect(simulator.requests[0]!.body).toMatchObject({
      to: '+919876543210',
      from: '+918012345678',
      ring_timeout: 30,
    });
    // Vobiz's request uuid is the call uuid: hang-up goes straight to the call.
    await control.hangUp(carrierCallId);
    expect(
      simulator.requests
        .slice(1)
        .map((recorded) => [recorded.method, recorded.path, recorded.responseStatus]),
    ).toEqual([['DELETE', `/Account/MA_TEST01/Call/${carrierCallId}/`, 204]]);
  });

  it('callbacks carry Event and a V2/V3 signature over the URL without its query', async () => {
    const { carrierCallId } = await control.createCall(call());
    await simulator.ring(carrierCallId);
    await simulator.answer(carrierCallId);
    await control.sendDtmf(carrierCallId, '9');
    await control.transfer(carrierCallId, '+919876500000');
    // The carrier fetches the transfer's document, signed like a callback.
    await vi.waitFor(() => expect(received).toHaveLength(3));
    await simulator.hangup(carrierCallId, 'completed');
    expect(received.map((entry) => [entry.verified, entry.params['Event']])).toEqual([
      [true, 'Ring'],
      [true, 'StartApp'],
      [true, 'Transfer'],
      [true, 'Hangup'],
    ]);
    const updates = received.map((entry) => parseVobizStatusCallback(entry.params));
    expect(updates.map((update) => update.ok && update.update.status)).toEqual([
      'ringing',
      'in_progress',
      'in_progress',
      'completed',
    ]);
    expect(simulator.call(carrierCallId).digits).toEqual(['9']);
    expect(simulator.call(carrierCallId).transfers).toEqual([`${webhookBase}/transfer?to=%2B919876500000`]);
  });

  it('maps refused credentials to auth without leaking them', async () => {
    const wrong = new VobizCallControl({
      authId: 'MA_TEST01',
      authToken: 'not-the-token',
      baseUrl: simulator.baseUrl,
    });
    const error = await wrong.createCall(call()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TelephonyError);
    expect(error).toMatchObject({ carrier: 'vobiz', code: 'auth' });
    expect((error as TelephonyError).message).toBe('Vobiz createCall: HTTP 401');
  });
});
