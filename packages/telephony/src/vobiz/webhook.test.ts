import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePlivoXml, signVobizCallback } from '@parley/testkit';
import {
  buildVobizRejectDocument,
  buildVobizStreamDocument,
  parseVobizStatusCallback,
  signVobizRequest,
  verifyVobizSignature,
} from './webhook.js';

describe('Vobiz answer documents', () => {
  it('is the Plivo <Stream> document plus maxRetries', () => {
    const document = buildVobizStreamDocument({
      mediaUrl: 'wss://app.example.com/media/vobiz',
      extraHeaders: { callId: 'c1', token: 't1' },
      maxRetries: 3,
    });
    expect(document.contentType).toBe('application/xml');
    const stream = parsePlivoXml(document.body).children[0]!;
    expect(stream.name).toBe('Stream');
    expect(stream.text).toBe('wss://app.example.com/media/vobiz');
    expect(stream.attributes).toEqual({
      bidirectional: 'true',
      audioTrack: 'inbound',
      keepCallAlive: 'true',
      contentType: 'audio/x-mulaw;rate=8000',
      extraHeaders: 'callId=c1,token=t1',
      maxRetries: '3',
    });
    expect(() => buildVobizStreamDocument({ mediaUrl: 'wss://a', extraHeaders: {}, maxRetries: 11 })).toThrow(
      /maxRetries must be an integer from 0 to 10/,
    );
  });

  it('rejects politely with <Speak> then <Hangup/>', () => {
    const verbs = parsePlivoXml(buildVobizRejectDocument({ message: 'Goodbye.' }).body).children;
    expect(verbs.map((verb) => [verb.name, verb.text])).toEqual([
      ['Speak', 'Goodbye.'],
      ['Hangup', ''],
    ]);
  });
});

describe('X-Vobiz-Signature', () => {
  const authToken = 'vobiz-token';
  const url = 'https://app.example.com/vobiz/answer?org=o1';
  const params = { CallUUID: 'u1', From: '919876543210', To: '918012345678' };

  it('V3 is base64 HMAC-SHA256 of the URL without its query, ".", nonce (docs.vobiz.ai)', () => {
    const v3 = createHmac('sha256', authToken)
      .update('https://app.example.com/vobiz/answer.46347661609492873878')
      .digest('base64');
    const headers = { 'x-vobiz-signature-v3': v3, 'x-vobiz-signature-v3-nonce': '46347661609492873878' };
    expect(verifyVobizSignature({ url, method: 'POST', params, headers, authToken })).toBe(true);
  });

  it('accepts V2 (no ".") when V3 is absent, and the testkit-signed headers', () => {
    const v2 = createHmac('sha256', authToken)
      .update('https://app.example.com/vobiz/answer93261257176326652087')
      .digest('base64');
    const headers = { 'X-Vobiz-Signature-V2': v2, 'X-Vobiz-Signature-V2-Nonce': '93261257176326652087' };
    expect(verifyVobizSignature({ url, method: 'POST', params, headers, authToken })).toBe(true);
    expect(
      verifyVobizSignature({
        url,
        method: 'POST',
        params,
        headers: signVobizCallback(authToken, url),
        authToken,
      }),
    ).toBe(true);
    const ours = signVobizRequest(authToken, url, { v2: '1', v3: '2' });
    expect(verifyVobizSignature({ url, method: 'POST', params, headers: ours, authToken })).toBe(true);
  });

  it('rejects forged, re-targeted and unsigned requests; a bad V3 is not rescued by V2', () => {
    const headers = signVobizRequest(authToken, url, { v2: '1', v3: '2' });
    const check = (overrides: Partial<Parameters<typeof verifyVobizSignature>[0]>): boolean =>
      verifyVobizSignature({ url, method: 'POST', params, headers, authToken, ...overrides });
    expect(check({ authToken: 'other' })).toBe(false);
    expect(check({ url: 'https://app.example.com/vobiz/other' })).toBe(false);
    expect(check({ headers: {} })).toBe(false);
    expect(check({ headers: { ...headers, 'X-Vobiz-Signature-V3': 'Zm9yZ2Vk' } })).toBe(false);
    expect(check({ authToken: '' })).toBe(false);
  });

  it('does not cover the body (Vobiz signs only URL and nonce): body tampering passes', () => {
    const headers = signVobizRequest(authToken, url, { v2: '1', v3: '2' });
    expect(
      verifyVobizSignature({ url, method: 'POST', params: { ...params, From: '1' }, headers, authToken }),
    ).toBe(true);
  });
});

describe('Vobiz callbacks', () => {
  it('reads Event=Hangup callbacks with Plivo fields', () => {
    expect(
      parseVobizStatusCallback({
        CallUUID: 'u1',
        CallStatus: 'no-answer',
        Event: 'Hangup',
        HangupCauseName: 'No Answer',
        Duration: '0',
      }),
    ).toEqual({
      ok: true,
      update: {
        carrierCallId: 'u1',
        status: 'no_answer',
        carrierReason: 'No Answer',
        durationSeconds: 0,
        event: 'Hangup',
      },
    });
  });
});
