// The two translations the Plivo-family routes make between the carriers' formats and Parley's: numbers
// written without their `+`, and ids/tokens carried in extraHeaders, which allow letters and digits only.
import { describe, expect, it } from 'vitest';
import { encodePlivoExtraHeaders } from '@parley/telephony';
import { decodeExtraHeaderValue, encodeExtraHeaderValue, plivoNumberToE164 } from './plivo-family-routes.js';

describe('plivoNumberToE164', () => {
  it('adds the + Plivo leaves out, and leaves numbers that have it alone', () => {
    expect(plivoNumberToE164('14155550100')).toBe('+14155550100');
    expect(plivoNumberToE164('+14155550100')).toBe('+14155550100');
  });

  it('leaves what is not a plain number as it is', () => {
    expect(plivoNumberToE164('sip:alice@phone.plivo.com')).toBe('sip:alice@phone.plivo.com');
    expect(plivoNumberToE164('0123456789')).toBe('0123456789');
    expect(plivoNumberToE164('1234')).toBe('1234');
  });
});

describe('extraHeaders values', () => {
  const callId = '01a20021-13a2-7ef3-b965-ec950741f009';
  const token = 'Zm9v-YmFy_0123456789abcdefghijklmnopqrstuvw';

  it('round-trip a call id and a base64url token through a value the carriers accept', () => {
    const headers = { callId: encodeExtraHeaderValue(callId), token: encodeExtraHeaderValue(token) };
    expect(() => encodePlivoExtraHeaders(headers)).not.toThrow();
    expect(decodeExtraHeaderValue(headers.callId)).toBe(callId);
    expect(decodeExtraHeaderValue(headers.token)).toBe(token);
  });

  it('decode to null when missing or not hex', () => {
    expect(decodeExtraHeaderValue(undefined)).toBeNull();
    expect(decodeExtraHeaderValue('')).toBeNull();
    expect(decodeExtraHeaderValue('abc')).toBeNull();
    expect(decodeExtraHeaderValue('zz')).toBeNull();
  });
});
