import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExotelRestSimulator } from '@parley/testkit';
import type { ExotelRestSimulator } from '@parley/testkit';
import { ExotelCallControl } from './call-control.js';
import {
  buildExotelStreamUrl,
  exotelCallbackFields,
  exotelStreamUrlResponse,
  parseExotelAppletRequest,
  parseExotelStatusCallback,
  verifyExotelBasicAuth,
  verifyExotelUrlToken,
} from './webhook.js';
import type { ExotelStatusParseResult } from './webhook.js';

/** Our side, as the lead's routes would use these functions: callbacks in, the applet URL answered. */
let server: Server;
let baseUrl: string;
const callbacks: ExotelStatusParseResult[] = [];
const callbackWaiters: (() => void)[] = [];
const TOKEN = 'tok_9f8e7d';

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

beforeAll(async () => {
  server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const body = await readBody(request);
      if (!verifyExotelUrlToken(url.searchParams.get('token'), TOKEN)) {
        response.writeHead(403).end();
        return;
      }
      if (url.pathname === '/exotel/status') {
        const fields = exotelCallbackFields(body, request.headers['content-type']);
        callbacks.push(fields ? parseExotelStatusCallback(fields) : { ok: false, reason: 'unreadable body' });
        callbackWaiters.shift()?.();
        response.writeHead(200).end();
        return;
      }
      if (url.pathname === '/exotel/applet') {
        const call = parseExotelAppletRequest(url.searchParams);
        if (!call) {
          response.writeHead(400).end();
          return;
        }
        const answer = exotelStreamUrlResponse(
          buildExotelStreamUrl('wss://parley.example/media/exotel', {
            customParameters: { callSid: call.callSid, token: TOKEN },
            sampleRateHz: 16000,
          }),
        );
        response.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
        return;
      }
      response.writeHead(404).end();
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function nextCallback(): Promise<ExotelStatusParseResult> {
  return new Promise((resolve) => callbackWaiters.push(() => resolve(callbacks.at(-1)!)));
}

describe('reaching our media URL', () => {
  it('answers the Voicebot applet’s per-call request with a wss URL carrying the call’s parameters', async () => {
    const exotel = await startExotelRestSimulator();
    try {
      const answer = await exotel.fetchAppletUrl(`${baseUrl}/exotel/applet?token=${TOKEN}`, {
        callSid: 'CA77',
        from: '+919800000001',
        to: '+918000000002',
      });
      expect(answer.status).toBe(200);
      const url = new URL(answer.url!);
      expect(url.protocol).toBe('wss:');
      expect(Object.fromEntries(url.searchParams)).toEqual({
        callSid: 'CA77',
        token: TOKEN,
        'sample-rate': '16000',
      });
      // Without our token in the applet URL, nothing is handed out.
      const forged = await exotel.fetchAppletUrl(`${baseUrl}/exotel/applet?token=guess`, {
        callSid: 'CA77',
        from: '+919800000001',
        to: '+918000000002',
      });
      expect(forged).toEqual({ status: 403, url: null });
    } finally {
      await exotel.close();
    }
  });

  it('refuses stream URLs Exotel would truncate or reject, naming the limit', () => {
    expect(() => buildExotelStreamUrl('https://parley.example/media')).toThrow(/wss:\/\/ or ws:\/\//);
    expect(() =>
      buildExotelStreamUrl('wss://parley.example/media', {
        customParameters: { a: '1', b: '2', c: '3', d: '4' },
      }),
    ).toThrow(/4 pairs; Exotel echoes at most 3/);
    expect(() =>
      buildExotelStreamUrl('wss://parley.example/media', { customParameters: { a: 'x'.repeat(300) } }),
    ).toThrow(/Exotel allows 256/);
  });

  it('reads the applet request in either of Exotel’s spellings', () => {
    expect(
      parseExotelAppletRequest({ CallSid: 'CA1', Callfrom: '+91', CallTo: '+92', Direction: 'incoming' }),
    ).toEqual({
      callSid: 'CA1',
      from: '+91',
      to: '+92',
      direction: 'incoming',
      customField: null,
    });
    expect(parseExotelAppletRequest(new URLSearchParams('CallFrom=+91'))).toBeNull();
  });
});

describe('authentication (Exotel signs nothing: Basic auth and URL tokens)', () => {
  const credentials = { username: 'exotel', password: 's3cret' };
  const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;

  it('accepts the right Basic credentials and nothing else', () => {
    expect(verifyExotelBasicAuth(basic('exotel:s3cret'), credentials)).toBe(true);
    expect(verifyExotelBasicAuth(basic('exotel:s3cres'), credentials)).toBe(false);
    expect(verifyExotelBasicAuth(basic('exotel:s3cret-and-more'), credentials)).toBe(false);
    expect(
      verifyExotelBasicAuth(`Bearer ${Buffer.from('exotel:s3cret').toString('base64')}`, credentials),
    ).toBe(false);
    expect(verifyExotelBasicAuth(undefined, credentials)).toBe(false);
  });

  it('checks URL tokens and refuses to compare against an empty secret', () => {
    expect(verifyExotelUrlToken(TOKEN, TOKEN)).toBe(true);
    expect(verifyExotelUrlToken('tok_9f8e7e', TOKEN)).toBe(false);
    expect(verifyExotelUrlToken(null, TOKEN)).toBe(false);
    expect(() => verifyExotelUrlToken('', '')).toThrow(/empty/);
  });
});

describe('status callbacks', () => {
  let exotel: ExotelRestSimulator;
  let callSid: string;

  beforeAll(async () => {
    exotel = await startExotelRestSimulator();
    const control = new ExotelCallControl({
      accountSid: exotel.accountSid,
      apiKey: exotel.apiKey,
      apiToken: exotel.apiToken,
      baseUrl: exotel.baseUrl,
    });
    ({ carrierCallId: callSid } = await control.createCall({
      to: '+919800000001',
      from: '08047491899',
      answerUrl: 'wss://parley.example/media/exotel',
      statusCallbackUrl: `${baseUrl}/exotel/status?token=${TOKEN}`,
    }));
  });

  afterAll(async () => {
    await exotel.close();
  });

  it('normalises a terminal callback posted as a form', async () => {
    const received = nextCallback();
    await exotel.sendStatusCallback(callSid, { status: 'completed', conversationDurationSeconds: 41 });
    expect(await received).toEqual({
      ok: true,
      update: {
        carrierCallId: callSid,
        status: 'completed',
        carrierReason: 'completed',
        durationSeconds: 41,
      },
    });
  });

  it('reads AnsweredBy from the Legs of a JSON callback', async () => {
    const received = nextCallback();
    await exotel.sendStatusCallback(callSid, {
      status: 'in-progress',
      eventType: 'answered',
      answeredBy: 'machine',
      encoding: 'json',
    });
    expect(await received).toMatchObject({
      ok: true,
      update: { status: 'in_progress', answeredBy: 'machine' },
    });
  });

  it('is not reachable without our token', async () => {
    const { status } = await exotel.sendStatusCallback(callSid, {
      status: 'completed',
      url: `${baseUrl}/exotel/status`,
    });
    expect(status).toBe(403);
  });

  it.each([
    ['queued', 'queued'],
    ['ringing', 'ringing'],
    ['in-progress', 'in_progress'],
    ['completed', 'completed'],
    ['busy', 'busy'],
    ['no-answer', 'no_answer'],
    ['failed', 'failed'],
    ['canceled', 'canceled'],
  ])('maps Status %s to %s and keeps Exotel’s word', (raw, status) => {
    expect(parseExotelStatusCallback({ CallSid: 'CA1', Status: raw })).toEqual({
      ok: true,
      update: { carrierCallId: 'CA1', status, carrierReason: raw },
    });
  });

  it('treats an answered event as in progress and "NA" as no detection', () => {
    expect(parseExotelStatusCallback({ CallSid: 'CA1', EventType: 'answered', AnsweredBy: 'NA' })).toEqual({
      ok: true,
      update: { carrierCallId: 'CA1', status: 'in_progress', carrierReason: 'answered' },
    });
  });

  it('refuses callbacks without a CallSid or with an unknown status', () => {
    expect(parseExotelStatusCallback({ Status: 'completed' })).toEqual({
      ok: false,
      reason: 'status callback without CallSid',
    });
    expect(parseExotelStatusCallback({ CallSid: 'CA1', Status: 'exploded' })).toEqual({
      ok: false,
      reason: 'status callback with an unknown Status',
    });
    expect(exotelCallbackFields('{not json', 'application/json')).toBeNull();
    expect(exotelCallbackFields('<xml/>', 'text/xml')).toBeNull();
  });
});
