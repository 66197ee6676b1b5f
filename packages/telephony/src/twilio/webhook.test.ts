import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseTwiml, signTwilioRequest } from '@parley/testkit';
import {
  computeTwilioSignature,
  connectStreamTwiml,
  dialNumberTwiml,
  parseTwilioStatusCallback,
  playDigitsThenConnectTwiml,
  rejectionTwiml,
  TwilioWebhookError,
  validateTwilioMediaSignature,
  validateTwilioSignature,
} from './webhook.js';

describe('connectStreamTwiml', () => {
  it('connects a bidirectional stream with one Parameter per entry', () => {
    const twiml = connectStreamTwiml({
      mediaUrl: 'wss://app.example.com/media/twilio',
      parameters: { callId: 'c_01', token: 'tok' },
    });
    expect(twiml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>' +
        '<Stream url="wss://app.example.com/media/twilio">' +
        '<Parameter name="callId" value="c_01"/><Parameter name="token" value="tok"/>' +
        '</Stream></Connect></Response>',
    );
  });

  it('escapes values so a parameter cannot break out of its attribute', () => {
    const hostile = `a"/><Hangup/><Parameter name="x" value='&<>`;
    const twiml = connectStreamTwiml({
      mediaUrl: 'wss://app.example.com/media/twilio',
      parameters: { callId: hostile },
      statusCallbackUrl: 'https://app.example.com/twilio/stream-status?a=1&b=2',
    });
    const response = parseTwiml(twiml);
    expect(response.children.map((verb) => verb.name)).toEqual(['Connect']);
    const stream = response.children[0]!.children[0]!;
    expect(stream.attributes).toEqual({
      url: 'wss://app.example.com/media/twilio',
      statusCallback: 'https://app.example.com/twilio/stream-status?a=1&b=2',
      statusCallbackMethod: 'POST',
    });
    expect(stream.children).toHaveLength(1);
    expect(stream.children[0]!.attributes).toEqual({ name: 'callId', value: hostile });
  });

  it('refuses a media URL Twilio cannot use', () => {
    const parameters = {};
    expect(() => connectStreamTwiml({ mediaUrl: 'https://app.example.com/media', parameters })).toThrow(
      /wss:\/\//,
    );
    expect(() =>
      connectStreamTwiml({ mediaUrl: 'wss://app.example.com/media?callId=1', parameters }),
    ).toThrow(/query string/);
    expect(() => connectStreamTwiml({ mediaUrl: '/media', parameters })).toThrow(/absolute/);
  });
});

describe('other TwiML documents', () => {
  it('rejects politely: says the message, then hangs up', () => {
    const response = parseTwiml(rejectionTwiml('Sorry, we cannot take calls <right now> & later.'));
    expect(response.children.map((verb) => [verb.name, verb.text])).toEqual([
      ['Say', 'Sorry, we cannot take calls <right now> & later.'],
      ['Hangup', ''],
    ]);
  });

  it('dials a number for a transfer and refuses anything but E.164', () => {
    const response = parseTwiml(dialNumberTwiml('+14155550100'));
    expect(response.children[0]!.name).toBe('Dial');
    expect(response.children[0]!.children[0]).toMatchObject({ name: 'Number', text: '+14155550100' });
    expect(() => dialNumberTwiml('4155550100<Hangup/>')).toThrow(/E\.164/);
  });

  it('plays digits, then reconnects the stream', () => {
    const twiml = playDigitsThenConnectTwiml('w1#', {
      mediaUrl: 'wss://a.example/m',
      parameters: { callId: 'c' },
    });
    const response = parseTwiml(twiml);
    expect(response.children.map((verb) => verb.name)).toEqual(['Play', 'Connect']);
    expect(response.children[0]!.attributes).toEqual({ digits: 'w1#' });
    expect(() =>
      playDigitsThenConnectTwiml('12"3', { mediaUrl: 'wss://a.example/m', parameters: {} }),
    ).toThrow();
  });
});

describe('validateTwilioSignature', () => {
  const authToken = '12345';

  it("accepts Twilio's published example", () => {
    // From Twilio's signature-validation docs (api-snippets, security/signature_validation).
    expect(
      validateTwilioSignature({
        url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
        params: {
          CallSid: 'CA1234567890ABCDE',
          Caller: '+14158675310',
          Digits: '1234',
          From: '+14158675310',
          To: '+18005551212',
        },
        signature: 'GvWf1cFY/Q7PnoempGyD5oXAezc=',
        authToken,
      }),
    ).toBe(true);
  });

  const url = 'https://example.com/twilio/voice?foo=1';
  const params = { CallSid: 'CA123', From: '+15550001111', To: '+15550002222' };
  const signature = 'H0OKXOG62ZXJw/0DLmHT1jsNV9o=';

  it('accepts the reference test vector, from parsed fields or the raw form body', () => {
    expect(validateTwilioSignature({ url, params, signature, authToken: 'authtoken' })).toBe(true);
    const rawBody = new URLSearchParams(params).toString();
    expect(validateTwilioSignature({ url, rawBody, signature, authToken: 'authtoken' })).toBe(true);
  });

  it('rejects a forged request: other token, changed field, extra field, other URL', () => {
    expect(validateTwilioSignature({ url, params, signature, authToken: 'other-token' })).toBe(false);
    expect(
      validateTwilioSignature({
        url,
        params: { ...params, To: '+15550009999' },
        signature,
        authToken: 'authtoken',
      }),
    ).toBe(false);
    expect(
      validateTwilioSignature({ url, params: { ...params, Extra: 'x' }, signature, authToken: 'authtoken' }),
    ).toBe(false);
    expect(
      validateTwilioSignature({
        url: 'https://example.com/twilio/voice?foo=2',
        params,
        signature,
        authToken: 'authtoken',
      }),
    ).toBe(false);
    expect(
      validateTwilioSignature({
        url,
        params,
        signature: signature.replace('H', 'h'),
        authToken: 'authtoken',
      }),
    ).toBe(false);
  });

  it('rejects a missing or empty signature and fails loudly without an auth token', () => {
    expect(validateTwilioSignature({ url, params, signature: undefined, authToken: 'authtoken' })).toBe(
      false,
    );
    expect(validateTwilioSignature({ url, params, signature: '', authToken: 'authtoken' })).toBe(false);
    expect(() => validateTwilioSignature({ url, params, signature, authToken: '' })).toThrow(/authToken/);
  });

  it('accepts a signature made with or without the default port, whichever URL we were given', () => {
    const withoutPort = 'https://example.com/path?test=param';
    const withPort = 'https://example.com:443/path?test=param';
    const signedWithout = computeTwilioSignature('s3cr3t', withoutPort, params);
    const signedWith = signTwilioRequest('s3cr3t', withPort, new URLSearchParams(params));
    for (const [signedUrl, sig] of [
      [withoutPort, signedWithout],
      [withPort, signedWith],
    ] as const) {
      for (const checkedUrl of [withoutPort, withPort]) {
        expect(
          validateTwilioSignature({ url: checkedUrl, params, signature: sig, authToken: 's3cr3t' }),
          `signed ${signedUrl}, checked ${checkedUrl}`,
        ).toBe(true);
      }
    }
    // The same for plain http and port 80, and not for some other port.
    const httpSig = signTwilioRequest('s3cr3t', 'http://example.com:80/hook');
    expect(
      validateTwilioSignature({ url: 'http://example.com/hook', signature: httpSig, authToken: 's3cr3t' }),
    ).toBe(true);
    expect(
      validateTwilioSignature({
        url: 'http://example.com:8080/hook',
        signature: httpSig,
        authToken: 's3cr3t',
      }),
    ).toBe(false);
  });

  it('treats a field named __proto__ as data, so a forged body is refused rather than crashing', () => {
    const rawBody = '__proto__=x&CallSid=CA1';
    expect(validateTwilioSignature({ url, rawBody, signature, authToken: 'authtoken' })).toBe(false);
    const sig = signTwilioRequest('tok', url, new URLSearchParams(rawBody));
    expect(validateTwilioSignature({ url, rawBody, signature: sig, authToken: 'tok' })).toBe(true);
  });

  it('sorts repeated fields by value, as Twilio does', () => {
    const form = new URLSearchParams([
      ['StatusCallbackEvent', 'ringing'],
      ['StatusCallbackEvent', 'answered'],
      ['CallSid', 'CA1'],
    ]);
    const sig = signTwilioRequest('tok', url, form);
    expect(validateTwilioSignature({ url, rawBody: form.toString(), signature: sig, authToken: 'tok' })).toBe(
      true,
    );
    expect(
      validateTwilioSignature({
        url,
        params: { CallSid: 'CA1', StatusCallbackEvent: ['answered', 'ringing'] },
        signature: sig,
        authToken: 'tok',
      }),
    ).toBe(true);
  });

  describe('JSON bodies (bodySHA256)', () => {
    // The body and hash of Twilio's published example (api-snippets, signature_validation_json).
    const body = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
    const hash = '5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9';
    const jsonUrl = `https://example.com/myapp?bodySHA256=${hash}`;
    const jsonSignature = signTwilioRequest('12345', jsonUrl);

    it('hashes the body as Twilio does', () => {
      expect(createHash('sha256').update(body).digest('hex')).toBe(hash);
    });

    it('accepts the body whose hash is in the signed URL', () => {
      expect(
        validateTwilioSignature({
          url: jsonUrl,
          rawBody: body,
          signature: jsonSignature,
          authToken: '12345',
        }),
      ).toBe(true);
    });

    it('rejects a changed body, a missing body, or a URL whose hash was swapped', () => {
      const changed = body.replace('CA1234567890ABCDE', 'CA0000000000ABCDE');
      expect(
        validateTwilioSignature({
          url: jsonUrl,
          rawBody: changed,
          signature: jsonSignature,
          authToken: '12345',
        }),
      ).toBe(false);
      expect(validateTwilioSignature({ url: jsonUrl, signature: jsonSignature, authToken: '12345' })).toBe(
        false,
      );
      const otherHash = createHash('sha256').update(changed).digest('hex');
      expect(
        validateTwilioSignature({
          url: `https://example.com/myapp?bodySHA256=${otherHash}`,
          rawBody: changed,
          signature: jsonSignature,
          authToken: '12345',
        }),
      ).toBe(false);
    });
  });
});

describe('validateTwilioMediaSignature', () => {
  const signature = signTwilioRequest('tok', 'wss://app.example.com/media/twilio');

  it('checks the upgrade against the wss:// URL, however the framework spells the scheme', () => {
    for (const url of [
      'wss://app.example.com/media/twilio',
      'https://app.example.com/media/twilio',
      'https://app.example.com:443/media/twilio',
    ]) {
      expect(validateTwilioMediaSignature({ url, signature, authToken: 'tok' }), url).toBe(true);
    }
  });

  it('rejects another path, another token or no signature', () => {
    expect(
      validateTwilioMediaSignature({
        url: 'https://app.example.com/media/other',
        signature,
        authToken: 'tok',
      }),
    ).toBe(false);
    expect(
      validateTwilioMediaSignature({
        url: 'https://app.example.com/media/twilio',
        signature,
        authToken: 'x',
      }),
    ).toBe(false);
    expect(
      validateTwilioMediaSignature({
        url: 'https://app.example.com/media/twilio',
        signature: undefined,
        authToken: 'tok',
      }),
    ).toBe(false);
    // Signed over https:// instead of wss:// is a different URL.
    const httpsSigned = signTwilioRequest('tok', 'https://app.example.com/media/twilio');
    expect(
      validateTwilioMediaSignature({
        url: 'https://app.example.com/media/twilio',
        signature: httpsSigned,
        authToken: 'tok',
      }),
    ).toBe(false);
  });
});

describe('parseTwilioStatusCallback', () => {
  const base = { CallSid: 'CA0123', AccountSid: 'AC1', From: '+15550001111', To: '+15550002222' };

  it.each([
    ['queued', 'queued'],
    ['initiated', 'queued'],
    ['ringing', 'ringing'],
    ['in-progress', 'in_progress'],
    ['completed', 'completed'],
    ['busy', 'busy'],
    ['no-answer', 'no_answer'],
    ['failed', 'failed'],
    ['canceled', 'canceled'],
  ])('maps CallStatus %s to %s', (callStatus, status) => {
    expect(parseTwilioStatusCallback({ ...base, CallStatus: callStatus })).toEqual({
      carrierCallId: 'CA0123',
      status,
      carrierReason: callStatus,
    });
  });

  it('keeps the SIP code and the duration of a finished call', () => {
    expect(
      parseTwilioStatusCallback({
        ...base,
        CallStatus: 'no-answer',
        SipResponseCode: '487',
        CallDuration: '0',
      }),
    ).toEqual({
      carrierCallId: 'CA0123',
      status: 'no_answer',
      carrierReason: 'no-answer; SipResponseCode=487',
      durationSeconds: 0,
    });
    expect(parseTwilioStatusCallback({ ...base, CallStatus: 'completed', CallDuration: '42' })).toMatchObject(
      {
        status: 'completed',
        durationSeconds: 42,
      },
    );
  });

  it.each([
    ['human', 'human', undefined],
    ['machine_start', 'machine', false],
    ['machine_end_beep', 'machine', true],
    ['machine_end_silence', 'machine', true],
    ['machine_end_other', 'machine', true],
    ['fax', 'machine', true],
    ['unknown', 'unknown', undefined],
    ['something_new', 'unknown', undefined],
  ] as const)(
    'maps an async AMD verdict AnsweredBy=%s to %s on an answered call',
    (answeredBy, expected, greetingEnded) => {
      expect(
        parseTwilioStatusCallback({
          CallSid: 'CA0123',
          AccountSid: 'AC1',
          AnsweredBy: answeredBy,
          MachineDetectionDuration: '2300',
        }),
      ).toEqual({
        carrierCallId: 'CA0123',
        status: 'in_progress',
        carrierReason: `AnsweredBy=${answeredBy}`,
        answeredBy: expected,
        // Whether the machine's greeting is over, so a message left now is recorded.
        ...(greetingEnded === undefined ? {} : { machineGreetingEnded: greetingEnded }),
      });
    },
  );

  it('reads AnsweredBy on a status callback too (synchronous AMD)', () => {
    expect(
      parseTwilioStatusCallback({ ...base, CallStatus: 'in-progress', AnsweredBy: 'human' }),
    ).toMatchObject({
      status: 'in_progress',
      answeredBy: 'human',
      carrierReason: 'in-progress; AnsweredBy=human',
    });
  });

  it('names the field that is missing or unreadable', () => {
    const failure = (params: Record<string, string>): TwilioWebhookError => {
      try {
        parseTwilioStatusCallback(params);
      } catch (error) {
        if (error instanceof TwilioWebhookError) return error;
        throw error;
      }
      throw new Error('expected a TwilioWebhookError');
    };
    expect(failure({ CallStatus: 'ringing' })).toMatchObject({ code: 'missing_field', field: 'CallSid' });
    expect(failure({ CallSid: '', CallStatus: 'ringing' })).toMatchObject({
      code: 'missing_field',
      field: 'CallSid',
    });
    expect(failure({ CallSid: 'CA1' })).toMatchObject({ code: 'missing_field', field: 'CallStatus' });
    expect(failure({ CallSid: 'CA1', CallStatus: 'on-hold' })).toMatchObject({
      code: 'invalid_field',
      field: 'CallStatus',
    });
    expect(failure({ CallSid: 'CA1', CallStatus: 'completed', CallDuration: 'ten' })).toMatchObject({
      code: 'invalid_field',
      field: 'CallDuration',
    });
    expect(failure({ CallStatus: 'ringing' }).message).toContain('CallSid');
  });

  it('does not mistake inherited object keys for statuses', () => {
    expect(() => parseTwilioStatusCallback({ CallSid: 'CA1', CallStatus: 'constructor' })).toThrow(
      TwilioWebhookError,
    );
  });
});
