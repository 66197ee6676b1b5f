import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelnyxRestSimulator } from '@parley/testkit';
import type { TelnyxRestSimulator, TelnyxSimulatedCall } from '@parley/testkit';
import { encodeTelnyxClientState } from './messages.js';
import {
  parseTelnyxWebhookEvent,
  telnyxPublicKey,
  telnyxStreamingParams,
  TELNYX_SIGNATURE_HEADER,
  TELNYX_TIMESTAMP_HEADER,
  verifyTelnyxSignature,
} from './webhook.js';

/** Our webhook endpoint: it records each delivery's raw body and headers exactly as received. */
let server: Server;
let webhookUrl: string;
const deliveries: { body: string; headers: IncomingHttpHeaders }[] = [];
let telnyx: TelnyxRestSimulator;
let call: TelnyxSimulatedCall;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      deliveries.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
      response.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/telnyx`;
  telnyx = await startTelnyxRestSimulator();
  call = telnyx.addIncomingCall({ webhookUrl });
  call.clientState = encodeTelnyxClientState({ callId: 'c_7' });
});

afterAll(async () => {
  await telnyx.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Delivers one webhook from the simulator and returns it as our endpoint received it. */
async function deliver(eventType: string, options: Parameters<TelnyxRestSimulator['sendWebhook']>[2] = {}) {
  await telnyx.sendWebhook(call.callControlId, eventType, options);
  return deliveries.at(-1)!;
}

function verifyDelivery(
  delivery: { body: string; headers: IncomingHttpHeaders },
  publicKey = telnyx.publicKeyBase64,
) {
  return verifyTelnyxSignature({
    rawBody: delivery.body,
    signature: delivery.headers[TELNYX_SIGNATURE_HEADER] as string | undefined,
    timestamp: delivery.headers[TELNYX_TIMESTAMP_HEADER] as string | undefined,
    publicKey,
  });
}

describe('verifyTelnyxSignature', () => {
  it('accepts a webhook signed with the account key', async () => {
    expect(verifyDelivery(await deliver('call.answered'))).toEqual({ ok: true });
  });

  it('refuses a body changed after signing', async () => {
    const delivery = await deliver('call.answered', {
      tamper: (body) => body.replace('call.answered', 'call.hangup'),
    });
    expect(verifyDelivery(delivery)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a signature made with another key', async () => {
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const otherBase64 = Buffer.from(other.x!, 'base64url').toString('base64');
    expect(verifyDelivery(await deliver('call.answered'), otherBase64)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a timestamp more than five minutes old or ahead (a replay), however well signed', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(verifyDelivery(await deliver('call.answered', { timestamp: now - 301 }))).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verifyDelivery(await deliver('call.answered', { timestamp: now + 301 }))).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(verifyDelivery(await deliver('call.answered', { timestamp: now - 299 }))).toEqual({ ok: true });
  });

  it('names what is missing or malformed', () => {
    const base = { rawBody: '{}', publicKey: telnyx.publicKeyBase64 };
    expect(verifyTelnyxSignature({ ...base, signature: undefined, timestamp: '1' })).toEqual({
      ok: false,
      reason: 'missing_signature',
    });
    expect(verifyTelnyxSignature({ ...base, signature: 'c2ln', timestamp: undefined })).toEqual({
      ok: false,
      reason: 'missing_timestamp',
    });
    expect(verifyTelnyxSignature({ ...base, signature: 'c2ln', timestamp: '12:00' })).toEqual({
      ok: false,
      reason: 'bad_timestamp',
    });
    const now = String(Math.floor(Date.now() / 1000));
    expect(verifyTelnyxSignature({ ...base, signature: 'c2ln', timestamp: now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(
      verifyTelnyxSignature({
        ...base,
        publicKey: 'c2hvcnQ=',
        signature: telnyx.sign('{}', now),
        timestamp: now,
      }),
    ).toEqual({
      ok: false,
      reason: 'bad_public_key',
    });
    expect(telnyxPublicKey(telnyx.publicKeyBase64)?.asymmetricKeyType).toBe('ed25519');
  });
});

describe('parseTelnyxWebhookEvent', () => {
  it('reads an inbound call.initiated as ringing, with our client_state decoded', async () => {
    const parsed = parseTelnyxWebhookEvent((await deliver('call.initiated')).body);
    expect(parsed).toMatchObject({
      ok: true,
      event: {
        eventType: 'call.initiated',
        callControlId: call.callControlId,
        direction: 'incoming',
        clientState: { callId: 'c_7' },
        update: { carrierCallId: call.callControlId, status: 'ringing', carrierReason: 'call.initiated' },
      },
    });
  });

  it('reads call.answered as in progress and ignores streaming lifecycle events', async () => {
    expect(parseTelnyxWebhookEvent((await deliver('call.answered')).body)).toMatchObject({
      ok: true,
      event: { update: { status: 'in_progress' } },
    });
    expect(parseTelnyxWebhookEvent((await deliver('streaming.started')).body)).toMatchObject({
      ok: true,
      event: { eventType: 'streaming.started', update: null },
    });
  });

  it.each([
    ['normal_clearing', undefined, 'completed', 'normal_clearing'],
    ['time_limit', undefined, 'completed', 'time_limit'],
    ['user_busy', '486', 'busy', 'user_busy (sip 486)'],
    ['call_rejected', '603', 'busy', 'call_rejected (sip 603)'],
    ['timeout', undefined, 'no_answer', 'timeout'],
    ['originator_cancel', '487', 'canceled', 'originator_cancel (sip 487)'],
    ['not_found', '404', 'failed', 'not_found (sip 404)'],
    ['unspecified', '503', 'failed', 'unspecified (sip 503)'],
    ['unspecified', 'unspecified', 'completed', 'unspecified'],
  ])('maps hangup_cause %s (SIP %s) to %s', (cause, sip, status, reason) => {
    const body = telnyx.webhookBody(call, 'call.hangup', {
      hangup_cause: cause,
      ...(sip !== undefined ? { sip_hangup_cause: sip } : {}),
    });
    expect(parseTelnyxWebhookEvent(body)).toMatchObject({
      ok: true,
      event: { update: { carrierCallId: call.callControlId, status, carrierReason: reason } },
    });
  });

  it.each([
    ['call.machine.detection.ended', 'human', 'human'],
    ['call.machine.detection.ended', 'machine', 'machine'],
    ['call.machine.detection.ended', 'not_sure', 'unknown'],
    ['call.machine.premium.detection.ended', 'human_business', 'human'],
    ['call.machine.premium.detection.ended', 'fax_detected', 'machine'],
  ])('maps %s result %s onto answeredBy %s', (eventType, result, answeredBy) => {
    const parsed = parseTelnyxWebhookEvent(telnyx.webhookBody(call, eventType, { result }));
    expect(parsed).toMatchObject({ ok: true, event: { update: { status: 'in_progress', answeredBy } } });
  });

  it('refuses bodies that are not Call Control events', () => {
    expect(parseTelnyxWebhookEvent('nope')).toEqual({ ok: false, reason: 'not JSON' });
    expect(parseTelnyxWebhookEvent('{"meta":{}}')).toEqual({
      ok: false,
      reason: 'webhook without a data object',
    });
    expect(parseTelnyxWebhookEvent('{"data":{"payload":{}}}')).toEqual({
      ok: false,
      reason: 'webhook without data.event_type',
    });
  });
});

describe('telnyxStreamingParams', () => {
  it('asks for the caller’s track, the same codec both ways and RTP playback', () => {
    expect(
      telnyxStreamingParams('wss://parley.example/media/telnyx?callId=c_1', {
        streamAuthToken: 'tok',
        clientState: { callId: 'c_1' },
      }),
    ).toEqual({
      stream_url: 'wss://parley.example/media/telnyx?callId=c_1',
      stream_track: 'inbound_track',
      stream_codec: 'PCMU',
      stream_bidirectional_mode: 'rtp',
      stream_bidirectional_codec: 'PCMU',
      stream_auth_token: 'tok',
      client_state: encodeTelnyxClientState({ callId: 'c_1' }),
    });
    expect(telnyxStreamingParams('wss://x/m', { codec: 'L16', sampleRateHz: 16000 })).toMatchObject({
      stream_codec: 'L16',
      stream_bidirectional_sampling_rate: 16000,
    });
    expect(() => telnyxStreamingParams('https://x/m')).toThrow(/wss:\/\/ or ws:\/\//);
  });
});
