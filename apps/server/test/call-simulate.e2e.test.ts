// `parley call simulate` against the built server on the embedded default: an agent with no provider
// credentials at all is called through the simulators, and the CLI prints what was said and how fast
// each reply came. And the edges around it: the public API can neither create nor reveal a simulation,
// and a simulated call's media socket opens only with its token, only on the simulated route.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTelnyxClientState } from '@parley/telephony';
import {
  startExotelCaller,
  startPlivoCaller,
  startTelnyxCaller,
  startTwilioCaller,
  startVobizCaller,
} from '@parley/testkit';
import { OPERATOR_SIGNATURE_HEADER, signOperatorRequest } from '../src/operator-signature.js';
import { encodeExtraHeaderValue } from '../src/telephony/plivo-family-routes.js';
import { assertBuilt, runCli, startServer, tempDir, type RunningServer } from './server-process.js';

const GREETING = 'Hello, thanks for calling Acme. How can I help?';
const LINES = ['What time do you open on Saturday?', 'Thank you, that is all I needed.'];
const CARRIERS = ['twilio', 'plivo', 'vobiz', 'exotel', 'telnyx'] as const;
type Carrier = (typeof CARRIERS)[number];

/** What the refusal tests look at, on any carrier's caller. */
interface DialledStream {
  closedBy: 'caller' | 'server' | null;
  received: readonly unknown[];
  waitFor<T>(probe: () => T | null | undefined | false): Promise<T>;
  hangUp(): Promise<void>;
}

/** Opens a media socket as `carrier` does, presenting `callId` and `token` where that carrier puts them. */
function dial(carrier: Carrier, url: string, callId: string, token: string): Promise<DialledStream> {
  switch (carrier) {
    case 'twilio':
      return startTwilioCaller({ url, customParameters: { callId, token } });
    case 'plivo':
    case 'vobiz':
      return (carrier === 'plivo' ? startPlivoCaller : startVobizCaller)({
        url,
        extraHeaders: { callId: encodeExtraHeaderValue(callId), token: encodeExtraHeaderValue(token) },
      });
    case 'exotel':
      return startExotelCaller({ url, customParameters: { callId, token } });
    case 'telnyx':
      return startTelnyxCaller({ url, clientState: encodeTelnyxClientState({ callId, token }) });
  }
}

let server: RunningServer;
let workdir: ReturnType<typeof tempDir>;
let bearer: Record<string, string>;
let agentId: string;

async function api(method: string, url: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}${url}`, {
    method,
    headers: { ...bearer, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : null };
}

/** An operator request as the CLI signs it, with the server's own secret (from its data directory). */
async function operator(method: 'GET' | 'POST', requestPath: string, body?: unknown, sign = true) {
  const secret = readFileSync(path.join(workdir.dir, '.parley', 'secret'), 'utf8').trim();
  const text = body === undefined ? '' : JSON.stringify(body);
  const response = await fetch(`${server.baseUrl}${requestPath}`, {
    method,
    headers: {
      ...(sign
        ? {
            [OPERATOR_SIGNATURE_HEADER]: signOperatorRequest(secret, {
              method,
              path: requestPath,
              body: text,
            }),
          }
        : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: text }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

beforeAll(async () => {
  assertBuilt();
  workdir = tempDir();
  // The operator's account and key are made before the server holds the embedded database.
  const user = await runCli(
    ['user', 'create', '--email', 'ops@example.test', '--organization', 'Acme'],
    workdir.dir,
    {
      PARLEY_USER_PASSWORD: 'operator password 1',
    },
  );
  const organizationId = /owning organization ([0-9a-f-]{36})/.exec(user.stdout)?.[1] as string;
  const key = await runCli(['api-key', 'create', '--organization', organizationId], workdir.dir);
  // The secret is printed alone on the last line.
  bearer = { authorization: `Bearer ${key.stdout.trim().split('\n').at(-1)!.trim()}` };
  server = await startServer(workdir.dir);

  // No credential anywhere: the simulation needs no provider keys.
  const created = await api('POST', '/api/v1/agents', {
    name: 'Reception',
    systemPrompt: 'You answer questions about opening hours.',
    firstMessage: GREETING,
    stt: { provider: 'deepgram' },
    llm: { provider: 'openai', model: 'gpt-4o-mini' },
    tts: { provider: 'cartesia', voice: 'voice-1' },
    turnTaking: { endpointingSilenceMs: 400 },
  });
  expect(created.status).toBe(201);
  agentId = created.body.id;
  expect((await api('POST', `/api/v1/agents/${agentId}/publish`)).status).toBe(201);
});

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  workdir?.remove();
});

describe('parley call simulate', () => {
  it.each(CARRIERS)(
    'calls the agent over %s media through the simulators and prints the transcript and per-turn latency',
    async (carrier) => {
      const result = await runCli(
        [
          'call',
          'simulate',
          '--agent',
          agentId,
          '--carrier',
          carrier,
          '--url',
          server.baseUrl,
          '--say',
          LINES[0]!,
          '--say',
          LINES[1]!,
        ],
        workdir.dir,
      );
      expect(result.stderr).not.toMatch(/parley call simulate:/);
      expect(result.code).toBe(0);
      const callId = /^Call ([0-9a-f-]{36}):/m.exec(result.stdout)?.[1] as string;
      expect(result.stdout).toContain(`simulated ${carrier} caller, completed (caller_hangup)`);

      // Turn by turn, in order: the greeting, each line and the agent's answer to it.
      const transcript = result.stdout.slice(
        result.stdout.indexOf('Transcript'),
        result.stdout.indexOf('Latency'),
      );
      const turns = transcript.split('\n').filter((line) => /^ {2}(agent|caller):/.test(line));
      expect(turns).toEqual([
        `  agent:  ${GREETING}`,
        `  caller: ${LINES[0]}`,
        expect.stringMatching(/^ {2}agent: {2}You said: What time do you open on Saturday\?/),
        `  caller: ${LINES[1]}`,
        expect.stringMatching(/^ {2}agent: {2}You said: Thank you, that is all I needed\./),
      ]);

      // A latency row per turn; each reply to a line has a measured voice-to-voice figure.
      const latency = result.stdout.slice(result.stdout.indexOf('Latency per turn (ms)'));
      const voiceToVoice = latency
        .split('\n')
        .filter((line) => /^ {2}\d+ /.test(line))
        .map((line) => line.trim().split(/\s+/)[1])
        .filter((cell) => cell !== '-')
        .map(Number);
      expect(voiceToVoice).toHaveLength(LINES.length);
      for (const ms of voiceToVoice) {
        expect(ms).toBeGreaterThan(0);
        expect(ms).toBeLessThan(10_000);
      }
      expect(latency).toMatch(/voice-to-voice p50 \d+ ms, p95 \d+ ms over 2 replies/);

      // The call is stored like any call of the organization, completed, and says nothing of the simulation.
      const stored = await api('GET', `/api/v1/calls/${callId}`);
      expect(stored.status).toBe(200);
      expect(stored.body).toMatchObject({
        id: callId,
        status: 'completed',
        direction: 'inbound',
        transport: carrier,
      });
      expect(stored.body).not.toHaveProperty('simulation');
      expect(stored.text).not.toMatch(/127\.0\.0\.1/);
      const listed = await api('GET', '/api/v1/calls');
      expect(listed.text).not.toMatch(/simulation|127\.0\.0\.1/);
    },
    120_000,
  );

  it('says clearly when the agent does not exist or the carrier is not one it speaks', async () => {
    const missing = await runCli(
      ['call', 'simulate', '--agent', '00000000-0000-4000-8000-000000000000', '--url', server.baseUrl],
      workdir.dir,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no agent has this id/);
    const vonage = await runCli(['call', 'simulate', '--agent', agentId, '--carrier', 'vonage'], workdir.dir);
    expect(vonage.code).toBe(2);
    expect(vonage.stderr).toMatch(
      /vonage is not a carrier simulate speaks \(supported: twilio, plivo, vobiz, exotel, telnyx\)/,
    );
    const down = await runCli(
      ['call', 'simulate', '--agent', agentId, '--url', 'http://127.0.0.1:9'],
      workdir.dir,
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the Parley server at http:\/\/127\.0\.0\.1:9/);
  });

  it('the public API cannot create a simulation, and operator requests need the instance secret', async () => {
    const viaApi = await api('POST', '/api/v1/calls', {
      agentId,
      to: '+15557654321',
      from: '+15550001111',
      simulation: { llm: 'http://169.254.169.254/v1' },
    });
    expect(viaApi.status).toBe(400);
    expect(viaApi.text).toMatch(/simulation/);

    const simulation = {
      apiKey: 'a-throwaway-simulator-key',
      stt: { deepgram: 'ws://127.0.0.1:1' },
      llm: 'http://127.0.0.1:1/v1',
      tts: { cartesia: 'ws://127.0.0.1:1' },
    };
    const unsigned = await operator(
      'POST',
      '/internal/simulations',
      { agentId, carrier: 'twilio', simulation },
      false,
    );
    expect(unsigned.status).toBe(401);
    // Even the operator cannot point a call's providers away from this machine.
    const elsewhere = await operator('POST', '/internal/simulations', {
      agentId,
      carrier: 'twilio',
      simulation: { ...simulation, llm: 'http://169.254.169.254/v1' },
    });
    expect(elsewhere.status).toBe(400);
    expect(JSON.stringify(elsewhere.body)).toMatch(/llm.*127\.0\.0\.1/);
  });

  it.each(CARRIERS)(
    "a simulated %s call's media socket opens only with its token, and never on the carrier's route",
    async (carrier) => {
      const created = await operator('POST', '/internal/simulations', {
        agentId,
        carrier,
        simulation: {
          apiKey: 'a-throwaway-simulator-key',
          stt: { deepgram: 'ws://127.0.0.1:1' },
          llm: 'http://127.0.0.1:1/v1',
          tts: { cartesia: 'ws://127.0.0.1:1' },
        },
      });
      expect(created.status).toBe(201);
      const { callId, mediaPath } = created.body as { callId: string; mediaPath: string };

      expect(mediaPath).toBe(`/media/simulated/${carrier}/${callId}`);
      const wsBase = server.baseUrl.replace(/^http/, 'ws');

      const wrongToken = await dial(carrier, `${wsBase}${mediaPath}`, callId, 'not-the-token');
      await wrongToken.waitFor(() => wrongToken.closedBy === 'server');
      expect(wrongToken.received).toHaveLength(0);
      expect((await api('GET', `/api/v1/calls/${callId}`)).body.status).toBe('ringing');

      // Another carrier's protocol is not this call's, even with the right token.
      const other = carrier === 'twilio' ? 'telnyx' : 'twilio';
      await expect(
        dial(other, `${wsBase}/media/simulated/${other}/${callId}`, callId, created.body.mediaToken),
      ).rejects.toThrow(/403/);
      // The carrier's own route refuses a simulated call: it is nobody's call at that carrier.
      await expect(
        dial(carrier, `${wsBase}/media/${carrier}/${callId}`, callId, created.body.mediaToken),
      ).rejects.toThrow(/403/);
      expect((await api('GET', `/api/v1/calls/${callId}`)).body.status).toBe('ringing');
    },
  );
});
