import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePlivoXml, signPlivoCallback } from '@parley/testkit';
import {
  buildPlivoDialDocument,
  buildPlivoRejectDocument,
  buildPlivoStreamDocument,
  encodePlivoExtraHeaders,
  parsePlivoAnswerRequest,
  parsePlivoStatusCallback,
  plivoSignatureBase,
  signPlivoRequest,
  verifyPlivoSignature,
} from './webhook.js';

describe('answer documents', () => {
  it('streams bidirectionally to our media URL, keeping the call alive, in μ-law, with our call id and token', () => {
    const document = buildPlivoStreamDocument({
      mediaUrl: 'wss://app.example.com/media/plivo',
      extraHeaders: { callId: 'c01JD', token: 'abc123' },
      statusCallbackUrl: 'https://app.example.com/plivo/stream-status?org=1&x=2',
    });
    expect(document.contentType).toBe('application/xml');
    expect(document.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Stream bidirectional="true" audioTrack="inbound" ' +
        'keepCallAlive="true" contentType="audio/x-mulaw;rate=8000" ' +
        'statusCallbackUrl="https://app.example.com/plivo/stream-status?org=1&amp;x=2" statusCallbackMethod="POST" ' +
        'extraHeaders="callId=c01JD,token=abc123">wss://app.example.com/media/plivo</Stream></Response>',
    );
    const stream = parsePlivoXml(document.body).children[0]!;
    expect(stream.attributes['statusCallbackUrl']).toBe(
      'https://app.example.com/plivo/stream-status?org=1&x=2',
    );
  });

  it('names an L16 format and a stream timeout when asked', () => {
    const document = buildPlivoStreamDocument({
      mediaUrl: 'wss://a/b',
      extraHeaders: { callId: 'c1' },
      format: { encoding: 'pcm16', sampleRateHz: 16000, channels: 1 },
      streamTimeoutSeconds: 3600,
    });
    const stream = parsePlivoXml(document.body).children[0]!;
    expect(stream.attributes).toMatchObject({ contentType: 'audio/x-l16;rate=16000', streamTimeout: '3600' });
  });

  it('refuses extra headers the carrier would reject, without echoing the value', () => {
    expect(() => encodePlivoExtraHeaders({ 'call-id': 'c1' })).toThrow(/key "call-id"/);
    expect(() => encodePlivoExtraHeaders({ token: 'se.cret' })).toThrow(/value of "token"/);
    expect(() => encodePlivoExtraHeaders({ token: 'se.cret' })).not.toThrow(/se\.cret/);
    expect(() => encodePlivoExtraHeaders({ token: '' })).toThrow(RangeError);
    expect(() => encodePlivoExtraHeaders({ token: 'a'.repeat(600) })).toThrow(/512/);
    expect(encodePlivoExtraHeaders({})).toBe('');
  });

  it('rejects politely: speaks the message (escaped), then hangs up', () => {
    const document = buildPlivoRejectDocument({
      message: 'Sorry, we are closed <today> & tomorrow.',
      language: 'en-US',
    });
    expect(document.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Speak language="en-US">' +
        'Sorry, we are closed &lt;today&gt; &amp; tomorrow.</Speak><Hangup/></Response>',
    );
    const verbs = parsePlivoXml(document.body).children;
    expect(verbs.map((verb) => verb.name)).toEqual(['Speak', 'Hangup']);
    expect(verbs[0]!.text).toBe('Sorry, we are closed <today> & tomorrow.');
  });

  it('dials the transfer target', () => {
    const document = buildPlivoDialDocument({ to: '+14155550111', callerId: '+14155550100' });
    expect(document.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="+14155550100">' +
        '<Number>+14155550111</Number></Dial></Response>',
    );
  });
});

describe('X-Plivo-Signature-V3', () => {
  const authToken = 'MjE2ZmY0NjFmY2I4YjY1';
  const url = 'https://app.example.com/plivo/answer?org=o1';
  const params = { CallUUID: 'uuid-1', From: '14155550100', To: '14155550199', Direction: 'inbound' };

  it('signs what plivo-node signs: URL, sorted query, ".", sorted fields as namevalue', () => {
    expect(plivoSignatureBase('https://example.com/answer?b=2&a=1', 'POST', { To: '1', From: '2' })).toBe(
      'https://example.com/answer?a=1&b=2.From2To1',
    );
    expect(plivoSignatureBase('https://example.com/answer', 'POST', { To: '1', From: '2' })).toBe(
      'https://example.com/answer?From2To1',
    );
    expect(plivoSignatureBase('https://example.com/answer?b=2&a=1', 'POST', {})).toBe(
      'https://example.com/answer?a=1&b=2',
    );
    expect(plivoSignatureBase('https://example.com/answer?b=2', 'GET', { a: '1' })).toBe(
      'https://example.com/answer?a=1&b=2',
    );
    expect(plivoSignatureBase('https://example.com:8443/answer', 'GET', {})).toBe(
      'https://example.com:8443/answer',
    );
  });

  it('accepts a request signed as Plivo signs it (independent implementation in the testkit)', () => {
    const headers = signPlivoCallback(authToken, url, new URLSearchParams(params), '12345678901234567890');
    const expected = createHmac('sha256', authToken)
      .update(
        'https://app.example.com/plivo/answer?org=o1.CallUUIDuuid-1DirectioninboundFrom14155550100To14155550199' +
          '.12345678901234567890',
      )
      .digest('base64');
    expect(headers['X-Plivo-Signature-V3']).toBe(expected);
    expect(verifyPlivoSignature({ url, method: 'POST', params, headers, authToken })).toBe(true);
    // Header names are case-insensitive, as Node lowercases them.
    const lower = Object.fromEntries(
      Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]),
    );
    expect(verifyPlivoSignature({ url, method: 'POST', params, headers: lower, authToken })).toBe(true);
    expect(signPlivoRequest(authToken, url, 'POST', params, '12345678901234567890')).toEqual(headers);
  });

  it('accepts any of several comma-separated signatures', () => {
    const headers = signPlivoRequest(authToken, url, 'POST', params, 'n1');
    headers['X-Plivo-Signature-V3'] = `bm90IGl0,${headers['X-Plivo-Signature-V3']}`;
    expect(verifyPlivoSignature({ url, method: 'POST', params, headers, authToken })).toBe(true);
  });

  it('rejects forged, tampered, re-targeted and unsigned requests', () => {
    const headers = signPlivoRequest(authToken, url, 'POST', params, 'n1');
    const check = (overrides: Partial<Parameters<typeof verifyPlivoSignature>[0]>): boolean =>
      verifyPlivoSignature({ url, method: 'POST', params, headers, authToken, ...overrides });
    expect(check({ authToken: 'someone-elses-token' })).toBe(false);
    expect(check({ params: { ...params, From: '19005550000' } })).toBe(false);
    expect(check({ url: 'https://app.example.com/plivo/answer?org=o2' })).toBe(false);
    expect(check({ method: 'GET' })).toBe(false);
    expect(check({ method: 'PUT' })).toBe(false);
    expect(check({ headers: { 'X-Plivo-Signature-V3': headers['X-Plivo-Signature-V3'] } })).toBe(false);
    expect(check({ headers: {} })).toBe(false);
    expect(check({ headers: { ...headers, 'X-Plivo-Signature-V3-Nonce': 'n2' } })).toBe(false);
    expect(check({ url: 'not a url' })).toBe(false);
  });
});

describe('status callbacks', () => {
  it.each([
    ['queued', 'queued'],
    ['ringing', 'ringing'],
    ['in-progress', 'in_progress'],
    ['completed', 'completed'],
    ['busy', 'busy'],
    ['no-answer', 'no_answer'],
    ['timeout', 'failed'],
    ['failed', 'failed'],
    ['cancel', 'canceled'],
  ])('CallStatus %s → %s', (carrierStatus, status) => {
    const parsed = parsePlivoStatusCallback({ CallUUID: 'u1', CallStatus: carrierStatus });
    expect(parsed).toMatchObject({ ok: true, update: { carrierCallId: 'u1', status } });
  });

  it('keeps the hangup cause as the carrier reason, with duration and the request uuid', () => {
    const parsed = parsePlivoStatusCallback({
      CallUUID: 'u1',
      RequestUUID: 'r1',
      CallStatus: 'completed',
      Event: 'Hangup',
      HangupCause: 'NORMAL_CLEARING',
      HangupCauseName: 'Normal Hangup',
      Duration: '42',
      BillDuration: '60',
    });
    expect(parsed).toEqual({
      ok: true,
      update: {
        carrierCallId: 'u1',
        status: 'completed',
        carrierReason: 'Normal Hangup',
        durationSeconds: 42,
        requestUuid: 'r1',
        event: 'Hangup',
      },
    });
    expect(
      parsePlivoStatusCallback({ CallUUID: 'u1', CallStatus: 'busy', HangupCause: 'USER_BUSY' }),
    ).toMatchObject({
      update: { status: 'busy', carrierReason: 'USER_BUSY' },
    });
    // A live call's reason is its status, not a (absent) hangup cause.
    expect(parsePlivoStatusCallback({ CallUUID: 'u1', CallStatus: 'ringing' })).toMatchObject({
      update: { carrierReason: 'ringing' },
    });
  });

  it('maps machine detection onto answeredBy', () => {
    const machine = { CallUUID: 'u1', CallStatus: 'in-progress', Event: 'MachineDetection', Machine: 'true' };
    expect(parsePlivoStatusCallback(machine)).toMatchObject({
      ok: true,
      update: {
        status: 'in_progress',
        answeredBy: 'machine',
        carrierReason: 'MachineDetection Machine=true',
      },
    });
    // The verdict says nothing of the greeting's end (it usually comes mid-greeting): left unknown.
    expect(parsePlivoStatusCallback(machine)).not.toHaveProperty('update.machineGreetingEnded');
    expect(parsePlivoStatusCallback({ ...machine, Machine: 'false' })).toMatchObject({
      update: { answeredBy: 'human' },
    });
    expect(
      parsePlivoStatusCallback({ CallUUID: 'u1', Event: 'MachineDetection', Machine: 'maybe' }),
    ).toMatchObject({
      update: { status: 'in_progress', answeredBy: 'unknown' },
    });
  });

  it('reports what is missing or unknown', () => {
    expect(parsePlivoStatusCallback({ CallStatus: 'completed' })).toEqual({
      ok: false,
      reason: 'callback without CallUUID',
    });
    expect(parsePlivoStatusCallback({ CallUUID: 'u1' })).toEqual({
      ok: false,
      reason: 'callback without CallStatus',
    });
    expect(parsePlivoStatusCallback({ CallUUID: 'u1', CallStatus: 'exploded' })).toEqual({
      ok: false,
      reason: 'unknown CallStatus "exploded"',
    });
  });

  it('reads the answer request', () => {
    expect(
      parsePlivoAnswerRequest({
        CallUUID: 'u1',
        From: '14155550100',
        To: '14155550199',
        Direction: 'inbound',
      }),
    ).toEqual({
      ok: true,
      request: { carrierCallId: 'u1', from: '14155550100', to: '14155550199', direction: 'inbound' },
    });
    expect(parsePlivoAnswerRequest({ CallUUID: 'u1' })).toMatchObject({ ok: false });
  });
});
