// GET /api/v1/recordings/:callId with a signed link (as an end-of-call webhook carries it): the WAV
// with its length for a valid link, 403 for an expired, tampered or another call's link.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calls, organizations } from '@parley/db';
import { createTestDatabase } from '@parley/db/testing';
import { RecordingLinks, SecretBox, type ServiceDeps } from '@parley/services';
import { buildApp } from '../../app.js';
import { recordingLinkRoutes } from './recordings.js';

const now = new Date('2026-03-01T12:00:00Z');
let app: Awaited<ReturnType<typeof buildApp>>;
let close: () => Promise<void>;
let dir: string;
let callId: string;
let silentCallId: string;
const links = new RecordingLinks('an instance secret that is long enough', () => 'https://parley.example');
const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(40, 1), Buffer.alloc(3200, 7)]);

beforeAll(async () => {
  const database = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'parley-recordings-'));
  const deps: ServiceDeps = {
    db: database.db,
    secretBox: new SecretBox('test secret key that is long enough to be accepted'),
    publicUrl: 'https://parley.example',
    signupEnabled: false,
    sessionTtlMs: 60_000,
    now: () => now,
  };
  app = await buildApp({
    deps,
    version: 'test',
    role: 'all',
    bodyLimitBytes: 64 * 1024,
    trustProxy: false,
    loginRateLimitPerMinute: 1000,
    checkReady: async () => ({ ready: true }),
    extraRoutes: (instance) => recordingLinkRoutes(instance, { deps, links }),
  });
  const [org] = await database.db.insert(organizations).values({ name: 'Acme' }).returning();
  const file = path.join(dir, 'call.wav');
  await writeFile(file, wav);
  const inserted = await database.db
    .insert(calls)
    .values([
      {
        organizationId: org!.id,
        direction: 'outbound',
        transport: 'twilio',
        status: 'completed',
        recordingPath: file,
      },
      { organizationId: org!.id, direction: 'outbound', transport: 'twilio', status: 'completed' },
    ])
    .returning({ id: calls.id });
  callId = inserted[0]!.id;
  silentCallId = inserted[1]!.id;
  close = async () => {
    await app.close();
    await database.close();
  };
});
afterAll(async () => {
  await close?.();
  await rm(dir, { recursive: true, force: true });
});

const get = (url: string) => {
  const { pathname, search } = new URL(url);
  return app.inject({ method: 'GET', url: pathname + search });
};

describe('signed recording links', () => {
  it('serve the whole WAV without any other authorisation', async () => {
    const response = await get(links.urlFor(callId, new Date(now.getTime() - 3_600_000)));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('audio/wav');
    expect(response.headers['content-length']).toBe(String(wav.length));
    expect(response.rawPayload.equals(wav)).toBe(true);
  });

  it('refuse an expired link', async () => {
    const response = await get(links.urlFor(callId, new Date(now.getTime() - 25 * 3_600_000)));
    expect([response.statusCode, response.json().error.code]).toEqual([403, 'forbidden']);
  });

  it('refuse a tampered signature, a moved expiry and another call’s link', async () => {
    const url = new URL(links.urlFor(callId, now));
    const tampered = new URL(url);
    const signature = url.searchParams.get('signature')!;
    tampered.searchParams.set('signature', (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
    const extended = new URL(url);
    extended.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400));
    const otherCall = new URL(url.toString().replace(callId, silentCallId));
    const forged = new RecordingLinks('another instance secret, long enough', () => 'https://parley.example');
    for (const bad of [tampered, extended, otherCall, new URL(forged.urlFor(callId, now))]) {
      const response = await get(bad.toString());
      expect(response.statusCode, bad.toString()).toBe(403);
    }
    expect((await get(`https://parley.example/api/v1/recordings/${callId}`)).statusCode).toBe(403);
    expect(
      (await get('https://parley.example/api/v1/recordings/not-a-uuid?expires=1&signature=x')).statusCode,
    ).toBe(403);
  });

  it('answer 404 for a valid link to a call without a recording', async () => {
    const response = await get(links.urlFor(silentCallId, now));
    expect(response.statusCode).toBe(404);
  });
});
