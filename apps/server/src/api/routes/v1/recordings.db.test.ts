// GET /api/v1/recordings/:callId with a signed link (as an end-of-call webhook carries it): the WAV
// with its length for a valid link, by byte range and mixed down as the call history serves it, 403 for
// an expired, tampered or another call's link.
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
const FRAMES = 800;
/** Stereo PCM16 whose left and right differ at every frame, so a mix is told apart from either side. */
const left = (i: number) => i * 3;
const right = (i: number) => -i;
const samples = Buffer.alloc(FRAMES * 4);
for (let i = 0; i < FRAMES; i++) {
  samples.writeInt16LE(left(i), i * 4);
  samples.writeInt16LE(right(i), i * 4 + 2);
}
const word = (n: number) => Buffer.from(new Uint16Array([n]).buffer);
const dword = (n: number) => Buffer.from(new Uint32Array([n]).buffer);
// The canonical 44-byte header of 8 kHz stereo PCM16 (machines here are little-endian, as RIFF is).
const wav = Buffer.concat([
  Buffer.from('RIFF'),
  dword(36 + samples.length),
  Buffer.from('WAVEfmt '),
  ...[dword(16), word(1), word(2), dword(8000), dword(32_000), word(4), word(16)],
  Buffer.from('data'),
  dword(samples.length),
  samples,
]);

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

const get = (url: string, headers: Record<string, string> = {}) => {
  const { pathname, search } = new URL(url);
  return app.inject({ method: 'GET', url: pathname + search, headers });
};
/** A fresh valid link with `channels` added, as a webhook receiver would append it. */
const linkWithChannels = (channels: string) => {
  const url = new URL(links.urlFor(callId, now));
  url.searchParams.set('channels', channels);
  return url.toString();
};

describe('signed recording links', () => {
  it('serve the whole WAV without any other authorisation', async () => {
    const response = await get(links.urlFor(callId, new Date(now.getTime() - 3_600_000)));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('audio/wav');
    expect(response.headers['content-length']).toBe(String(wav.length));
    expect(response.rawPayload.equals(wav)).toBe(true);
  });

  it('serve one byte range of it: 206 with Content-Range, or 416 past the end', async () => {
    const response = await get(links.urlFor(callId, now), { range: 'bytes=100-1099' });
    expect(response.statusCode).toBe(206);
    expect(response.headers).toMatchObject({
      'accept-ranges': 'bytes',
      'content-range': `bytes 100-1099/${wav.length}`,
      'content-length': '1000',
    });
    expect(response.rawPayload.equals(wav.subarray(100, 1100))).toBe(true);
    const past = await get(links.urlFor(callId, now), { range: `bytes=${wav.length}-` });
    expect([past.statusCode, past.headers['content-range']]).toEqual([416, `bytes */${wav.length}`]);
  });

  it('serve the recording mixed down to mono when the link asks for channels=mixed', async () => {
    const response = await get(linkWithChannels('mixed'));
    const mixed = response.rawPayload;
    expect(response.statusCode).toBe(200);
    expect(mixed.length).toBe(44 + FRAMES * 2);
    expect(response.headers['content-length']).toBe(String(mixed.length));
    expect(mixed.readUInt16LE(22)).toBe(1);
    for (let i = 0; i < FRAMES; i++)
      expect(mixed.readInt16LE(44 + i * 2)).toBe(Math.floor((left(i) + right(i)) / 2));
    const ranged = await get(linkWithChannels('mixed'), { range: 'bytes=-100' });
    expect([ranged.statusCode, ranged.headers['content-range']]).toEqual([
      206,
      `bytes ${mixed.length - 100}-${mixed.length - 1}/${mixed.length}`,
    ]);
    expect(ranged.rawPayload.equals(mixed.subarray(-100))).toBe(true);
    expect((await get(linkWithChannels('stereo'))).rawPayload.equals(wav)).toBe(true);
    expect((await get(linkWithChannels('loud'))).statusCode).toBe(400);
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
    expect([response.statusCode, response.json().error.code]).toEqual([404, 'recording_not_found']);
  });
});
