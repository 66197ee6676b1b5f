// An inbound call end to end through the Twilio simulators: signed voice webhook → TwiML → media
// WebSocket opened with a signature over the public wss:// URL → TwilioMediaTransport's `start`.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { placeTwilioInboundCall, signTwilioRequest, startTwilioCaller } from '@parley/testkit';
import { TwilioMediaTransport } from './media.js';
import type { TwilioAccepted } from './media.js';
import {
  connectStreamTwiml,
  rejectionTwiml,
  validateTwilioMediaSignature,
  validateTwilioSignature,
} from './webhook.js';

const AUTH_TOKEN = 'inbound-test-token';
/** What Twilio is configured with; the test server listens on 127.0.0.1 behind this "proxy". */
const PUBLIC_ORIGIN = 'https://voice.example.com';
const CALLER = '+14155550111';
const AGENT_NUMBER = '+14155550122';
const CLOSED_NUMBER = '+14155550133';

/** A minimal Parley: voice webhook + media endpoint, validating both signatures as the routes must. */
class ParleyStub {
  localOrigin = '';
  readonly upgrades: { path: string; signatureValid: boolean }[] = [];
  readonly webhookCalls: { to: string; callSid: string }[] = [];
  private readonly accepted: Promise<TwilioAccepted>[] = [];
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const header = request.headers['x-twilio-signature'];
        const valid = validateTwilioSignature({
          url: `${PUBLIC_ORIGIN}${request.url ?? '/'}`,
          rawBody,
          signature: typeof header === 'string' ? header : undefined,
          authToken: AUTH_TOKEN,
        });
        if (!valid || request.url !== '/twilio/voice') {
          response.writeHead(valid ? 404 : 403).end();
          return;
        }
        const fields = new URLSearchParams(rawBody);
        const to = fields.get('To') ?? '';
        const callSid = fields.get('CallSid') ?? '';
        this.webhookCalls.push({ to, callSid });
        response.writeHead(200, { 'content-type': 'text/xml' });
        if (to === CLOSED_NUMBER) {
          response.end(rejectionTwiml('Sorry, this line is closed. Goodbye.'));
          return;
        }
        response.end(
          connectStreamTwiml({
            mediaUrl: `${PUBLIC_ORIGIN.replace('https:', 'wss:')}/media/twilio`,
            parameters: { callId: `c_${callSid.slice(2, 10)}`, token: 'media-token & "quoted"' },
          }),
        );
      });
    });
    this.server.on('upgrade', (request, socket, head) => {
      const header = request.headers['x-twilio-signature'];
      // The framework sees the upgrade as https:// on the public origin; the helper checks it as wss://.
      const signatureValid = validateTwilioMediaSignature({
        url: `${PUBLIC_ORIGIN}${request.url ?? '/'}`,
        signature: typeof header === 'string' ? header : undefined,
        authToken: AUTH_TOKEN,
      });
      this.upgrades.push({ path: request.url ?? '', signatureValid });
      if (!signatureValid) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        this.accepted.push(TwilioMediaTransport.accept(ws, { startTimeoutMs: 5000 }));
      });
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.localOrigin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The media stream accepted for the nth upgrade. */
  acceptedStream(index: number): Promise<TwilioAccepted> {
    const accepted = this.accepted[index];
    if (!accepted) throw new Error(`no media stream ${index}`);
    return accepted;
  }

  /** Maps the public wss:// URL in the TwiML to this server. */
  readonly resolveMediaUrl = (streamUrl: string): string =>
    streamUrl.replace(PUBLIC_ORIGIN.replace('https:', 'wss:'), this.localOrigin.replace('http:', 'ws:'));

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let parley: ParleyStub;

beforeAll(async () => {
  parley = await new ParleyStub().start();
});

afterAll(async () => {
  await parley.close();
});

describe('an inbound Twilio call', () => {
  it('answers with a media stream that opens with a valid signature and carries the parameters', async () => {
    const call = await placeTwilioInboundCall({
      voiceUrl: `${parley.localOrigin}/twilio/voice`,
      signatureUrl: `${PUBLIC_ORIGIN}/twilio/voice`,
      authToken: AUTH_TOKEN,
      from: CALLER,
      to: AGENT_NUMBER,
      resolveMediaUrl: parley.resolveMediaUrl,
      caller: { recordAudio: false },
    });
    if (call.kind !== 'stream') throw new Error(`expected a stream, got ${call.kind}`);
    try {
      expect(call.streamUrl).toBe('wss://voice.example.com/media/twilio');
      const expectedParameters = {
        callId: `c_${call.callSid.slice(2, 10)}`,
        token: 'media-token & "quoted"',
      };
      expect(call.parameters).toEqual(expectedParameters);
      expect(parley.upgrades).toEqual([{ path: '/media/twilio', signatureValid: true }]);

      const { start, transport } = await parley.acceptedStream(0);
      expect(start.callSid).toBe(call.callSid);
      expect(start.customParameters).toEqual(expectedParameters);
      expect(parley.webhookCalls).toContainEqual({ to: AGENT_NUMBER, callSid: call.callSid });

      const hungUp = new Promise<void>((resolve) =>
        transport.setListener((event) => {
          if (event.type === 'hangup') resolve();
        }),
      );
      await call.caller.hangUp();
      await hungUp;
    } finally {
      await call.caller.hangUp();
    }
  });

  it('hears the rejection message when the number takes no calls', async () => {
    const call = await placeTwilioInboundCall({
      voiceUrl: `${parley.localOrigin}/twilio/voice`,
      signatureUrl: `${PUBLIC_ORIGIN}/twilio/voice`,
      authToken: AUTH_TOKEN,
      from: CALLER,
      to: CLOSED_NUMBER,
    });
    expect(call).toMatchObject({ kind: 'hangup', spoken: ['Sorry, this line is closed. Goodbye.'] });
  });

  it('is refused when Twilio signs with another token', async () => {
    await expect(
      placeTwilioInboundCall({
        voiceUrl: `${parley.localOrigin}/twilio/voice`,
        signatureUrl: `${PUBLIC_ORIGIN}/twilio/voice`,
        authToken: 'someone-elses-token',
        from: CALLER,
        to: AGENT_NUMBER,
      }),
    ).rejects.toThrow(/HTTP 403/);
  });

  it('is refused when the signature covers the local URL instead of the public one', async () => {
    await expect(
      placeTwilioInboundCall({
        voiceUrl: `${parley.localOrigin}/twilio/voice`,
        authToken: AUTH_TOKEN,
        from: CALLER,
        to: AGENT_NUMBER,
      }),
    ).rejects.toThrow(/HTTP 403/);
  });

  it('refuses a media socket whose signature is not over the public wss:// URL', async () => {
    const before = parley.upgrades.length;
    const localUrl = `${parley.localOrigin.replace('http:', 'ws:')}/media/twilio`;
    await expect(
      startTwilioCaller({
        url: localUrl,
        headers: { 'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, `${PUBLIC_ORIGIN}/media/twilio`) },
      }),
    ).rejects.toThrow(/could not connect/);
    expect(parley.upgrades.slice(before)).toEqual([{ path: '/media/twilio', signatureValid: false }]);
  });
});
