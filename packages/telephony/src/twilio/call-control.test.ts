import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseTwiml, startTwilioRestSimulator } from '@parley/testkit';
import type { TwilioRestSimulator } from '@parley/testkit';
import { TelephonyError } from '../carrier.js';
import type { CarrierStatusUpdate } from '../carrier.js';
import { TwilioCallControl } from './call-control.js';
import { connectStreamTwiml, parseTwilioStatusCallback, validateTwilioSignature } from './webhook.js';

const TO = '+14155550100';
const FROM = '+14155550199';

/** Parley's side of the callbacks: checks the signature, parses, answers like the real routes would. */
class CallbackServer {
  readonly updates: CarrierStatusUpdate[] = [];
  readonly rejected: string[] = [];
  baseUrl = '';
  private readonly server: Server;

  constructor(private readonly authToken: string) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const url = `${this.baseUrl}${request.url ?? '/'}`;
        const signature = request.headers['x-twilio-signature'];
        const valid = validateTwilioSignature({
          url,
          rawBody,
          signature: typeof signature === 'string' ? signature : undefined,
          authToken: this.authToken,
        });
        if (!valid) {
          this.rejected.push(url);
          response.writeHead(403).end();
          return;
        }
        if (request.url === '/twilio/answer') {
          response.writeHead(200, { 'content-type': 'text/xml' });
          response.end(
            connectStreamTwiml({
              mediaUrl: 'wss://app.example.com/media/twilio',
              parameters: { callId: 'c1' },
            }),
          );
          return;
        }
        this.updates.push(parseTwilioStatusCallback(Object.fromEntries(new URLSearchParams(rawBody))));
        response.writeHead(204).end();
      });
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let twilio: TwilioRestSimulator;
let control: TwilioCallControl;

beforeEach(async () => {
  twilio = await startTwilioRestSimulator();
  control = new TwilioCallControl({
    accountSid: twilio.accountSid,
    authToken: twilio.authToken,
    baseUrl: twilio.baseUrl,
  });
});

afterEach(async () => {
  await twilio.close();
});

async function placeCall(
  options: { machineDetection?: boolean; ringTimeoutSeconds?: number } = {},
): Promise<string> {
  const { carrierCallId } = await control.createCall({
    to: TO,
    from: FROM,
    answerUrl: 'https://app.example.com/twilio/answer',
    statusCallbackUrl: 'https://app.example.com/twilio/status',
    ...options,
  });
  return carrierCallId;
}

/** The TwiML a call update carried. */
function twimlOf(callSid: string): string {
  const twiml = twilio.updatesOf(callSid).at(-1)?.form.get('Twiml');
  if (!twiml) throw new Error('no TwiML update');
  return twiml;
}

describe('createCall', () => {
  it('places the call with Basic auth and the answer and status URLs', async () => {
    const callSid = await placeCall({ ringTimeoutSeconds: 25 });

    expect(callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(twilio.requests).toHaveLength(1);
    const request = twilio.requests[0]!;
    expect(request).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${twilio.accountSid}/Calls.json`,
      authUser: twilio.accountSid,
      authorized: true,
      responseStatus: 201,
    });
    const form = request.form;
    expect(form.get('To')).toBe(TO);
    expect(form.get('From')).toBe(FROM);
    expect(form.get('Url')).toBe('https://app.example.com/twilio/answer');
    expect(form.get('StatusCallback')).toBe('https://app.example.com/twilio/status');
    expect(form.getAll('StatusCallbackEvent')).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(form.get('Timeout')).toBe('25');
    expect(form.has('Twiml')).toBe(false);
    expect(form.has('MachineDetection')).toBe(false);
    expect(form.has('AsyncAmd')).toBe(false);
  });

  it('asks for asynchronous answering-machine detection reported to the status callback', async () => {
    await placeCall({ machineDetection: true });
    const form = twilio.requests[0]!.form;
    expect(form.get('MachineDetection')).toBe('DetectMessageEnd');
    expect(form.get('AsyncAmd')).toBe('true');
    expect(form.get('AsyncAmdStatusCallback')).toBe('https://app.example.com/twilio/status');
    expect(form.has('Timeout')).toBe(false);
  });

  it('refuses bad input before calling Twilio, naming the field but not the number', async () => {
    const attempt = (request: Partial<Parameters<TwilioCallControl['createCall']>[0]>) =>
      control.createCall({
        to: TO,
        from: FROM,
        answerUrl: 'https://a.example/answer',
        statusCallbackUrl: 'https://a.example/status',
        ...request,
      });
    await expect(attempt({ to: '555-0100' })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('to '),
    });
    await expect(attempt({ from: 'me' })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('from'),
    });
    await expect(attempt({ ringTimeoutSeconds: 0 })).rejects.toMatchObject({
      message: expect.stringContaining('ringTimeoutSeconds'),
    });
    await expect(attempt({ to: '555-0100' })).rejects.not.toMatchObject({
      message: expect.stringContaining('555-0100'),
    });
    expect(twilio.requests).toHaveLength(0);
  });
});

describe('live call control', () => {
  it('hangs up with Status=completed', async () => {
    const callSid = await placeCall();
    await control.hangUp(callSid);
    const [update] = twilio.updatesOf(callSid);
    expect(update).toMatchObject({ method: 'POST', authorized: true, responseStatus: 200 });
    expect([...update!.form]).toEqual([['Status', 'completed']]);
    expect(twilio.call(callSid).status).toBe('completed');
  });

  it('transfers by replacing the TwiML with a Dial to the number', async () => {
    const callSid = await placeCall();
    twilio.setCallStatus(callSid, 'in-progress');
    await control.transfer(callSid, '+14155550123');
    const response = parseTwiml(twimlOf(callSid));
    expect(response.children).toHaveLength(1);
    expect(response.children[0]!.name).toBe('Dial');
    expect(response.children[0]!.children[0]).toMatchObject({ name: 'Number', text: '+14155550123' });
  });

  it("passes on Twilio's refusal to redirect a call that is not in progress", async () => {
    const callSid = await placeCall();
    await expect(control.transfer(callSid, '+14155550123')).rejects.toMatchObject({
      code: 'invalid_request',
      details: { httpStatus: 400, carrierCode: 21220 },
    });
  });

  it('refuses to transfer to something that is not a phone number', async () => {
    const callSid = await placeCall();
    await expect(control.transfer(callSid, 'sip:evil@example.com')).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(twilio.updatesOf(callSid)).toHaveLength(0);
  });

  it('says DTMF is unsupported unless it can reconnect the stream', async () => {
    const callSid = await placeCall();
    expect(control.capabilities.sendDtmf).toBe(false);
    await expect(control.sendDtmf(callSid, '1')).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringContaining('resumeStream'),
    });
    expect(twilio.updatesOf(callSid)).toHaveLength(0);
  });

  it('plays DTMF, then reconnects the media stream with the same parameters', async () => {
    const resumed: string[] = [];
    const withDtmf = new TwilioCallControl({
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      baseUrl: twilio.baseUrl,
      resumeStream: (carrierCallId) => {
        resumed.push(carrierCallId);
        return { mediaUrl: 'wss://app.example.com/media/twilio', parameters: { callId: 'c1', token: 't' } };
      },
    });
    expect(withDtmf.capabilities.sendDtmf).toBe(true);
    const callSid = await placeCall();
    twilio.setCallStatus(callSid, 'in-progress');

    await withDtmf.sendDtmf(callSid, '1w2#');

    expect(resumed).toEqual([callSid]);
    const response = parseTwiml(twimlOf(callSid));
    expect(response.children.map((verb) => verb.name)).toEqual(['Play', 'Connect']);
    expect(response.children[0]!.attributes['digits']).toBe('1w2#');
    const stream = response.children[1]!.children[0]!;
    expect(stream.attributes['url']).toBe('wss://app.example.com/media/twilio');
    expect(stream.children.map((parameter) => parameter.attributes)).toEqual([
      { name: 'callId', value: 'c1' },
      { name: 'token', value: 't' },
    ]);
    await expect(withDtmf.sendDtmf(callSid, '12A')).rejects.toMatchObject({ code: 'invalid_request' });
    // A one-second pause is two of Twilio's half-second ones.
    await withDtmf.sendDtmf(callSid, '1W2');
    expect(parseTwiml(twimlOf(callSid)).children[0]!.attributes['digits']).toBe('1ww2');
  });

  it('refuses a call id that is not a Twilio call sid, so nothing else can be addressed', async () => {
    await expect(control.hangUp('../../IncomingPhoneNumbers/PN1')).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(twilio.requests).toHaveLength(0);
  });
});

describe('errors', () => {
  it('maps refused credentials to auth, without the token or account in the message', async () => {
    const wrong = new TwilioCallControl({
      accountSid: twilio.accountSid,
      authToken: 'wrong-token-123',
      baseUrl: twilio.baseUrl,
    });
    const error = await wrong.hangUp('CA' + '0'.repeat(32)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TelephonyError);
    expect(error).toMatchObject({
      carrier: 'twilio',
      code: 'auth',
      retryable: false,
      details: { httpStatus: 401, carrierCode: 20003 },
    });
    const message = (error as Error).message;
    expect(message).not.toContain('wrong-token-123');
    expect(message).not.toContain(twilio.authToken);
    expect(twilio.requests[0]!.authorized).toBe(false);
  });

  it("keeps Twilio's code and message for an invalid request, with numbers and the account redacted", async () => {
    twilio.failNextRequest({
      status: 400,
      code: 21211,
      message: `The 'To' number ${TO} is not a valid phone number for account ${twilio.accountSid}.`,
    });
    const error = (await placeCall().catch((caught: unknown) => caught)) as TelephonyError;
    expect(error).toMatchObject({
      code: 'invalid_request',
      retryable: false,
      details: { httpStatus: 400, carrierCode: 21211 },
    });
    expect(error.message).toContain('21211');
    expect(error.message).toContain('is not a valid phone number');
    expect(error.message).not.toContain(TO);
    expect(error.message).not.toContain(TO.slice(1));
    expect(error.message).not.toContain(twilio.accountSid);
  });

  it('maps an unknown call to not_found', async () => {
    const error = await control.hangUp('CA' + 'f'.repeat(32)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'not_found', details: { httpStatus: 404, carrierCode: 20404 } });
    expect((error as Error).message).not.toContain(twilio.accountSid);
  });

  it('maps 429 to rate_limited and 5xx to carrier_error, both retryable', async () => {
    twilio.failNextRequest({ status: 429, code: 20429, message: 'Too Many Requests' });
    await expect(placeCall()).rejects.toMatchObject({ code: 'rate_limited', retryable: true });
    twilio.failNextRequest({ status: 503, rawBody: '<html>Service Unavailable</html>' });
    await expect(placeCall()).rejects.toMatchObject({
      code: 'carrier_error',
      retryable: true,
      details: { httpStatus: 503 },
    });
  });

  it('maps an unreachable API to network', async () => {
    const baseUrl = twilio.baseUrl;
    await twilio.close();
    const offline = new TwilioCallControl({ accountSid: 'AC1', authToken: 'secret-token', baseUrl });
    const error = await offline.hangUp('CA' + '0'.repeat(32)).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'network', retryable: true });
    expect((error as Error).message).not.toContain('secret-token');
    twilio = await startTwilioRestSimulator(); // afterEach closes it
  });
});

describe('an outbound call through the simulator', () => {
  let parley: CallbackServer;
  let simulator: TwilioRestSimulator;

  beforeAll(async () => {
    simulator = await startTwilioRestSimulator();
    parley = await new CallbackServer(simulator.authToken).start();
  });

  afterAll(async () => {
    await simulator.close();
    await parley.close();
  });

  it('reports signed progress callbacks, the AMD verdict and the answer document', async () => {
    const outbound = new TwilioCallControl({
      accountSid: simulator.accountSid,
      authToken: simulator.authToken,
      baseUrl: simulator.baseUrl,
    });
    const { carrierCallId } = await outbound.createCall({
      to: TO,
      from: FROM,
      answerUrl: `${parley.baseUrl}/twilio/answer`,
      statusCallbackUrl: `${parley.baseUrl}/twilio/status`,
      machineDetection: true,
    });

    await simulator.sendStatus(carrierCallId, 'initiated');
    await simulator.sendStatus(carrierCallId, 'ringing');
    const { twiml } = await simulator.answer(carrierCallId);
    await simulator.sendStatus(carrierCallId, 'in-progress');
    await simulator.sendAmdResult(carrierCallId, 'machine_end_beep');
    await simulator.sendStatus(carrierCallId, 'completed', { CallDuration: '31' });

    expect(parley.rejected).toEqual([]);
    const stream = parseTwiml(twiml).children[0]!.children[0]!;
    expect(stream.attributes['url']).toBe('wss://app.example.com/media/twilio');
    expect(parley.updates.map(({ status, answeredBy }) => [status, answeredBy])).toEqual([
      ['queued', undefined],
      ['ringing', undefined],
      ['in_progress', undefined],
      ['in_progress', 'machine'],
      ['completed', undefined],
    ]);
    expect(parley.updates.at(-1)).toEqual({
      carrierCallId,
      status: 'completed',
      carrierReason: 'completed; SipResponseCode=200',
      durationSeconds: 31,
    });
  });

  it('reports a busy line with its SIP code', async () => {
    const outbound = new TwilioCallControl({
      accountSid: simulator.accountSid,
      authToken: simulator.authToken,
      baseUrl: simulator.baseUrl,
    });
    const { carrierCallId } = await outbound.createCall({
      to: TO,
      from: FROM,
      answerUrl: `${parley.baseUrl}/twilio/answer`,
      statusCallbackUrl: `${parley.baseUrl}/twilio/status`,
    });
    await simulator.sendStatus(carrierCallId, 'busy');
    expect(parley.updates.at(-1)).toEqual({
      carrierCallId,
      status: 'busy',
      carrierReason: 'busy; SipResponseCode=486',
      durationSeconds: 0,
    });
  });

  it('is refused by Parley when signed with another token', async () => {
    const impostor = await startTwilioRestSimulator({
      accountSid: simulator.accountSid,
      authToken: 'not-the-token',
    });
    try {
      const outbound = new TwilioCallControl({
        accountSid: impostor.accountSid,
        authToken: 'not-the-token',
        baseUrl: impostor.baseUrl,
      });
      const { carrierCallId } = await outbound.createCall({
        to: TO,
        from: FROM,
        answerUrl: `${parley.baseUrl}/twilio/answer`,
        statusCallbackUrl: `${parley.baseUrl}/twilio/status`,
      });
      const before = parley.updates.length;
      const callback = await impostor.sendStatus(carrierCallId, 'ringing');
      expect(callback.responseStatus).toBe(403);
      expect(parley.updates).toHaveLength(before);
    } finally {
      await impostor.close();
    }
  });
});
