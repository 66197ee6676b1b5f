// The call history through the HTTP API, over a fixture of 30 calls in two organizations: every list
// filter selects exactly the right calls, paging under every sort returns each call once and in order,
// the timeline and transcript, the recording by byte range (stereo and mixed down), the CSV export, and
// erasure. Organization B's calls resemble A's in every filtered field, and never reach A.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callEvents,
  calls,
  count,
  eq,
  leads,
  sql,
  transcriptTurns,
  uuidv7,
  webhookDeliveries,
} from '@parley/db';
import { FakeDialer } from '../../../testing/fake-dialer.js';
import { createHarness, type Client, type Harness, type SignedInUser } from '../../../testing/harness.js';
import { auditRows } from '../../../testing/teams.js';
import { CALL_CSV_COLUMNS } from './calls-csv.js';

const dialer = new FakeDialer();
let h: Harness;
let dir: string;
let ownerA: SignedInUser;
let ownerB: SignedInUser;

const NUMBERS = ['+14155550101', '+14155550102', '+442079460003'];
const BASE = Date.parse('2026-02-01T00:00:00.000Z');
const HOUR = 3600_000;

interface Spec {
  id: string;
  org: 'A' | 'B';
  agent: 0 | 1;
  status: string;
  direction: 'inbound' | 'outbound' | 'web';
  transport: string;
  from: string | null;
  to: string | null;
  createdAt: number;
  /** Seconds from answer to end; null when never answered. */
  talk: number | null;
  endReason: string | null;
  carrierReason: string | null;
  transcript: string[];
}

const STATUSES = [
  'completed',
  'busy',
  'completed',
  'no_answer',
  'failed',
  'voicemail',
  'canceled',
  'completed',
];
const END_REASONS: Record<string, string> = {
  completed: 'caller_hung_up',
  busy: 'carrier_busy',
  no_answer: 'carrier_no_answer',
  failed: 'dial_failed',
  voicemail: 'machine_detected',
  canceled: 'canceled_by_api',
};
const TALKS = [83, 12, 12, 240, 5, 0, 61, 12];
const LINES = [
  ['Hello, I would like a refund for my order.', 'Of course, I can process refunds.'],
  ['Can I book an appointment on Tuesday?', 'Tuesday at ten works.'],
  ['What are your opening hours?', 'We open at nine.'],
];

function specs(): Spec[] {
  const all: Spec[] = [];
  for (let i = 0; i < 30; i++) {
    const org = i < 24 ? 'A' : 'B';
    const status = STATUSES[i % STATUSES.length]!;
    const answered = status === 'completed' || status === 'voicemail';
    const direction = i % 5 === 0 ? 'web' : i % 3 === 0 ? 'inbound' : 'outbound';
    const web = direction === 'web';
    const number = NUMBERS[i % NUMBERS.length]!;
    const other = NUMBERS[(i + 1) % NUMBERS.length]!;
    all.push({
      // Ids that do not follow creation order, so sorting by creation cannot lean on them.
      id: uuidv7(BASE + ((i * 7919) % 30) * 1000),
      org,
      agent: (i % 2) as 0 | 1,
      status,
      direction,
      transport: web ? 'web' : ['twilio', 'plivo', 'telnyx'][i % 3]!,
      from: web ? null : direction === 'inbound' ? number : other,
      to: web ? null : direction === 'inbound' ? other : number,
      // Pairs of calls created at the same instant: pages must break ties by id.
      createdAt: BASE + Math.floor(i / 2) * HOUR + (i % 7 === 3 ? 1 : 0),
      talk: answered ? TALKS[i % TALKS.length]! : null,
      endReason: END_REASONS[status] ?? null,
      carrierReason: null,
      transcript: answered ? LINES[i % LINES.length]! : [],
    });
  }
  // Cells the CSV export must escape or neutralise.
  all[2]!.carrierReason = 'Busy, "line 1"\nretry later';
  all[4]!.carrierReason = '=HYPERLINK("http://evil.test")';
  return all;
}

const FIXTURE = specs();
const A = FIXTURE.filter((s) => s.org === 'A');
const B = FIXTURE.filter((s) => s.org === 'B');
const bIds = B.map((s) => s.id);
let agents: Record<'A' | 'B', [string, string]>;

const createdAtOf = (s: Spec) => new Date(s.createdAt);
const answeredAtOf = (s: Spec) => (s.talk === null ? null : new Date(s.createdAt + 7_000));
const endedAtOf = (s: Spec) =>
  s.talk === null ? new Date(s.createdAt + 20_000) : new Date(s.createdAt + 7_000 + s.talk * 1000);

async function insertFixture() {
  for (const s of FIXTURE) {
    const organizationId = s.org === 'A' ? ownerA.organizationId : ownerB.organizationId;
    await h.database.db.insert(calls).values({
      id: s.id,
      organizationId,
      agentId: agents[s.org][s.agent],
      agentVersion: 1,
      direction: s.direction,
      transport: s.transport,
      fromNumber: s.from,
      toNumber: s.to,
      status: s.status,
      endReason: s.endReason,
      carrierReason: s.carrierReason,
      createdAt: createdAtOf(s),
      answeredAt: answeredAtOf(s),
      endedAt: endedAtOf(s),
    });
    if (s.transcript.length > 0) {
      await h.database.db.insert(transcriptTurns).values(
        s.transcript.map((text, n) => ({
          callId: s.id,
          seq: n + 1,
          organizationId,
          role: n % 2 === 0 ? ('user' as const) : ('agent' as const),
          text,
          atMs: 1000 * (n + 1),
        })),
      );
    }
  }
}

async function created(client: Client, url: string, body: unknown): Promise<string> {
  const response = await client.post(url, body);
  if (response.status !== 201) throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id as string;
}

beforeAll(async () => {
  h = await createHarness({ dialer, callLimits: { maxConcurrentCalls: 100, callsPerMinute: 100 } });
  dir = await mkdtemp(path.join(tmpdir(), 'parley-call-history-'));
  ownerA = await h.signup('history-a');
  ownerB = await h.signup('history-b');
  const agent = (owner: SignedInUser, name: string) => created(owner.client, '/api/v1/agents', { name });
  agents = {
    A: [await agent(ownerA, 'Front desk'), await agent(ownerA, 'Reminders')],
    B: [await agent(ownerB, 'Front desk'), await agent(ownerB, 'Reminders')],
  };
  await insertFixture();
}, 60_000);
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every page of a list, following `nextCursor`; the ids in the order answered. */
async function allIds(client: Client, query: string, limit = 4): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const url: string = `/api/v1/calls?limit=${limit}${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
    const response: { status: number; body: any } = await client.get(url);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    ids.push(...response.body.data.map((c: { id: string }) => c.id));
    cursor = response.body.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error('more than 50 pages');
}

const newestFirst = (specs: Spec[]) =>
  [...specs].sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : 1)).map((s) => s.id);

describe('filters', () => {
  const cases: [string, string, (s: Spec) => boolean][] = [
    ['agent', 'agentId=AGENT1', (s) => s.agent === 1],
    ['one status', 'status=completed', (s) => s.status === 'completed'],
    [
      'several statuses',
      'status=busy,no_answer,canceled',
      (s) => ['busy', 'no_answer', 'canceled'].includes(s.status),
    ],
    ['direction', 'direction=inbound', (s) => s.direction === 'inbound'],
    ['carrier', 'carrier=plivo', (s) => s.transport === 'plivo'],
    [
      'number, as caller or callee',
      `number=${encodeURIComponent(NUMBERS[2]!)}`,
      (s) => s.from === NUMBERS[2] || s.to === NUMBERS[2],
    ],
    [
      'date range',
      `createdAfter=${encodeURIComponent(new Date(BASE + 3 * HOUR).toISOString())}&createdBefore=${encodeURIComponent(new Date(BASE + 7 * HOUR).toISOString())}`,
      (s) => s.createdAt >= BASE + 3 * HOUR && s.createdAt < BASE + 7 * HOUR,
    ],
    ['end reason', 'endReason=carrier_busy', (s) => s.endReason === 'carrier_busy'],
    ['minimum duration', 'minDurationSeconds=12', (s) => s.talk !== null && s.talk >= 12],
    ['maximum duration', 'maxDurationSeconds=12', (s) => s.talk !== null && s.talk <= 12],
    [
      'duration range',
      'minDurationSeconds=12&maxDurationSeconds=61',
      (s) => s.talk !== null && s.talk >= 12 && s.talk <= 61,
    ],
    ['words said (stemmed)', 'q=refund', (s) => s.transcript.some((t) => /refund/i.test(t))],
    [
      'words said, all of them',
      'q=appointment%20Tuesday',
      (s) => s.transcript.some((t) => t.includes('appointment')),
    ],
    [
      'several filters together',
      'status=completed&direction=outbound&minDurationSeconds=1',
      (s) => s.status === 'completed' && s.direction === 'outbound' && s.talk !== null && s.talk >= 1,
    ],
  ];

  for (const [name, query, keep] of cases) {
    it(`${name}: exactly the matching calls of the organization, newest first`, async () => {
      const url = query.replace('AGENT1', agents.A[1]);
      const expected = newestFirst(A.filter(keep));
      expect(expected.length, 'the fixture has matches').toBeGreaterThan(0);
      expect(expected.length, 'the fixture has non-matches').toBeLessThan(A.length);
      expect(await allIds(ownerA.client, url, 100)).toEqual(expected);
    });
  }

  it('no filter lists all of A’s calls and none of B’s', async () => {
    expect(await allIds(ownerA.client, '', 100)).toEqual(newestFirst(A));
    expect(await allIds(ownerB.client, '', 100)).toEqual(newestFirst(B));
  });

  it('B’s agent selects nothing for A', async () => {
    expect(await allIds(ownerA.client, `agentId=${agents.B[1]}`)).toEqual([]);
  });

  it('refuses filters that cannot be right, naming them', async () => {
    for (const [query, path] of [
      ['status=completed,ended', 'querystring.status'],
      ['number=0207946', 'querystring.number'],
      ['minDurationSeconds=-1', 'querystring.minDurationSeconds'],
      ['sort=duration', 'querystring.sort'],
    ]) {
      const response = await ownerA.client.get(`/api/v1/calls?${query}`);
      expect([response.status, response.body.error.code], query).toEqual([400, 'invalid_request']);
      expect(response.body.error.details.map((d: { path: string }) => d.path)[0], query).toMatch(
        new RegExp(`^${path}`),
      );
    }
  });
});

describe('sorting and pagination', () => {
  const durationKey = (s: Spec) => s.talk ?? -1;
  const byId = (x: Spec, y: Spec) => (x.id < y.id ? -1 : 1);
  const orders: Record<string, (x: Spec, y: Spec) => number> = {
    createdAt: (x, y) => x.createdAt - y.createdAt || byId(x, y),
    '-createdAt': (x, y) => y.createdAt - x.createdAt || byId(y, x),
    durationSeconds: (x, y) => durationKey(x) - durationKey(y) || byId(x, y),
    '-durationSeconds': (x, y) => durationKey(y) - durationKey(x) || byId(y, x),
  };

  for (const [sort, order] of Object.entries(orders)) {
    it(`sort=${sort}: small pages return every call exactly once, in order`, async () => {
      const expected = [...A].sort(order).map((s) => s.id);
      for (const limit of [1, 3, 7])
        expect(await allIds(ownerA.client, `sort=${sort}`, limit)).toEqual(expected);
    });
  }

  it('pages a filtered list under a sort', async () => {
    const expected = [...A.filter((s) => s.status === 'completed')]
      .sort(orders['-durationSeconds']!)
      .map((s) => s.id);
    expect(await allIds(ownerA.client, 'status=completed&sort=-durationSeconds', 2)).toEqual(expected);
  });

  it('still accepts a call id as cursor (the earlier format)', async () => {
    const all = newestFirst(A);
    const response = await ownerA.client.get(`/api/v1/calls?limit=3&cursor=${all[4]}`);
    expect(response.body.data.map((c: { id: string }) => c.id)).toEqual(all.slice(5, 8));
  });

  it('refuses a cursor it did not make, one of another sort, and B’s call as cursor', async () => {
    const first = (await ownerA.client.get('/api/v1/calls?limit=2&sort=durationSeconds')).body.nextCursor;
    for (const query of ['cursor=bm90LWEtY3Vyc29y', `cursor=${first}&sort=createdAt`, `cursor=${B[0]!.id}`]) {
      const response = await ownerA.client.get(`/api/v1/calls?${query}`);
      expect([response.status, response.body.error.code], query).toEqual([400, 'invalid_request']);
      expect(response.body.error.details).toEqual([
        { path: 'querystring.cursor', message: expect.any(String) },
      ]);
    }
  });
});

describe('one call', () => {
  it('answers its parties, timestamps, durations, end reasons, version, latency and cost placeholder', async () => {
    const s = A[0]!;
    const latency = { turns: 4, voiceToVoiceMs: { p50: 780, p95: 1210 }, sttMs: { p50: 120, p95: 180 } };
    await h.database.db
      .update(calls)
      .set({ latency, variables: { first_name: 'Ada' } })
      .where(eq(calls.id, s.id));
    await h.database.db
      .insert(leads)
      .values({ organizationId: ownerA.organizationId, callId: s.id, fields: { name: 'Ada' } });
    const response = await ownerA.client.get(`/api/v1/calls/${s.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: s.id,
      agentId: agents.A[0],
      agentVersion: 1,
      from: s.from,
      to: s.to,
      status: s.status,
      endReason: s.endReason,
      carrierReason: null,
      variables: { first_name: 'Ada' },
      createdAt: createdAtOf(s).toISOString(),
      answeredAt: answeredAtOf(s)!.toISOString(),
      endedAt: endedAtOf(s).toISOString(),
      durationSeconds: s.talk,
      durations: { ringSeconds: 7, talkSeconds: s.talk, totalSeconds: 7 + s.talk! },
      latency,
      cost: null,
      leadsCount: 1,
    });
  });

  it('an unanswered call rang until it ended and has no talk time', async () => {
    const s = A.find((x) => x.status === 'busy')!;
    expect((await ownerA.client.get(`/api/v1/calls/${s.id}`)).body.durations).toEqual({
      ringSeconds: 20,
      talkSeconds: null,
      totalSeconds: 20,
    });
  });

  it('answers the transcript turn by turn, in order', async () => {
    const s = A.find((x) => x.transcript.length > 0)!;
    expect((await ownerA.client.get(`/api/v1/calls/${s.id}/transcript`)).body).toEqual({
      data: s.transcript.map((text, n) => ({
        seq: n + 1,
        role: n % 2 === 0 ? 'user' : 'agent',
        text,
        atMs: 1000 * (n + 1),
        interrupted: false,
      })),
    });
  });

  it('answers the timeline in order, paged by seq and filtered by type', async () => {
    const s = A[1]!;
    const types = [
      'status',
      'transcript.final',
      'turn.latency',
      'tool.call',
      'status',
      'transcript.final',
      'status',
    ];
    // Written out of order: the answer is ordered by seq, not by insertion.
    for (const seq of [3, 1, 7, 2, 5, 4, 6]) {
      await h.database.db.insert(callEvents).values({
        callId: s.id,
        seq,
        organizationId: ownerA.organizationId,
        type: types[seq - 1]!,
        atMs: seq * 100,
        data: { n: seq },
      });
    }
    const seqs: number[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        body: {
          data: { seq: number; type: string; atMs: number; data: unknown }[];
          nextCursor: string | null;
        };
      } = await ownerA.client.get(`/api/v1/calls/${s.id}/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      for (const event of page.body.data) {
        expect(event).toMatchObject({
          type: types[event.seq - 1],
          atMs: event.seq * 100,
          data: { n: event.seq },
        });
        seqs.push(event.seq);
      }
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const filtered = (await ownerA.client.get(`/api/v1/calls/${s.id}/events?type=status,tool.call`)).body;
    expect(filtered.data.map((e: { seq: number }) => e.seq)).toEqual([1, 4, 5, 7]);
  });

  it('B’s call is call_not_found for A: read, timeline, transcript, recording, cancel and erase', async () => {
    const id = B.find((x) => x.transcript.length > 0)!.id;
    for (const response of [
      await ownerA.client.get(`/api/v1/calls/${id}`),
      await ownerA.client.get(`/api/v1/calls/${id}/events`),
      await ownerA.client.get(`/api/v1/calls/${id}/transcript`),
      await ownerA.client.get(`/api/v1/calls/${id}/recording`),
      await ownerA.client.post(`/api/v1/calls/${id}/cancel`),
      await ownerA.client.delete(`/api/v1/calls/${id}`),
    ]) {
      expect([response.status, response.body.error.code]).toEqual([404, 'call_not_found']);
    }
    expect((await ownerB.client.get(`/api/v1/calls/${id}`)).status).toBe(200);
  });
});

/** A stereo PCM16 WAV at 8 kHz: caller left, agent right, each sample a known function of its frame. */
function stereoWav(frames: number): {
  bytes: Buffer;
  left: (i: number) => number;
  right: (i: number) => number;
} {
  const left = (i: number) => ((i * 37) % 20_000) - 10_000;
  const right = (i: number) => 9_000 - ((i * 53) % 19_001);
  const bytes = Buffer.alloc(44 + frames * 4);
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + frames * 4, 4);
  bytes.write('WAVEfmt ', 8, 'ascii');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20);
  bytes.writeUInt16LE(2, 22);
  bytes.writeUInt32LE(8000, 24);
  bytes.writeUInt32LE(32_000, 28);
  bytes.writeUInt16LE(4, 32);
  bytes.writeUInt16LE(16, 34);
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(frames * 4, 40);
  for (let i = 0; i < frames; i++) {
    bytes.writeInt16LE(left(i), 44 + i * 4);
    bytes.writeInt16LE(right(i), 46 + i * 4);
  }
  return { bytes, left, right };
}

describe('the recording', () => {
  const FRAMES = 1000;
  const wav = stereoWav(FRAMES);
  let callId: string;
  let recordingPath: string;

  /** The raw bytes of a GET (the test client decodes bodies as text). */
  const download = async (client: Client, url: string, range?: string) => {
    const response = await h.app.inject({
      method: 'GET',
      url,
      headers: { cookie: client.auth.cookie!, ...(range ? { range } : {}) },
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      bytes: response.rawPayload,
      json: () => response.json(),
    };
  };

  beforeAll(async () => {
    callId = A[0]!.id;
    recordingPath = path.join(dir, `${callId}.wav`);
    await writeFile(recordingPath, wav.bytes);
    await h.database.db
      .update(calls)
      .set({ recordingPath, recordingDurationMs: 125 })
      .where(eq(calls.id, callId));
  });

  const url = (channels?: string) =>
    `/api/v1/calls/${callId}/recording${channels ? `?channels=${channels}` : ''}`;

  it('serves the stereo file whole, saying ranges are accepted', async () => {
    const response = await download(ownerA.client, url());
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({
      'accept-ranges': 'bytes',
      'content-type': 'audio/wav',
      'content-length': String(wav.bytes.length),
    });
    expect(response.bytes.equals(wav.bytes)).toBe(true);
  });

  it('serves byte ranges of the stereo file: the first bytes, a middle range, a suffix', async () => {
    const size = wav.bytes.length;
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=1001-2050', 1001, 2050],
      ['bytes=-100', size - 100, size - 1],
      ['bytes=4000-', 4000, size - 1],
      ['bytes=4000-999999', 4000, size - 1],
    ] as const) {
      const response = await download(ownerA.client, url('stereo'), range);
      expect(response.status, range).toBe(206);
      expect(response.headers['content-range'], range).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers['content-length'], range).toBe(String(end - start + 1));
      expect(response.bytes.equals(wav.bytes.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('answers 416 with the size for a range past the end', async () => {
    for (const channels of ['stereo', 'mixed']) {
      const response = await download(ownerA.client, url(channels), 'bytes=999999-');
      const size = channels === 'stereo' ? wav.bytes.length : 44 + FRAMES * 2;
      expect(response.status).toBe(416);
      expect(response.headers['content-range']).toBe(`bytes */${size}`);
      expect(response.json().error.code).toBe('range_not_satisfiable');
    }
  });

  it('mixes down to a valid mono WAV whose samples average both channels', async () => {
    const response = await download(ownerA.client, url('mixed'));
    const mixed = response.bytes;
    expect(response.status).toBe(200);
    expect(mixed.length).toBe(44 + FRAMES * 2);
    expect(response.headers['content-length']).toBe(String(mixed.length));
    expect(mixed.toString('ascii', 0, 4)).toBe('RIFF');
    expect(mixed.readUInt32LE(4)).toBe(36 + FRAMES * 2);
    expect(mixed.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect([mixed.readUInt16LE(20), mixed.readUInt16LE(22), mixed.readUInt32LE(24)]).toEqual([1, 1, 8000]);
    expect([mixed.readUInt32LE(28), mixed.readUInt16LE(32), mixed.readUInt16LE(34)]).toEqual([16_000, 2, 16]);
    expect(mixed.toString('ascii', 36, 40)).toBe('data');
    expect(mixed.readUInt32LE(40)).toBe(FRAMES * 2);
    for (let i = 0; i < FRAMES; i++)
      expect(mixed.readInt16LE(44 + i * 2)).toBe(Math.floor((wav.left(i) + wav.right(i)) / 2));
  });

  it('serves ranges of the mixed file, even ones starting or ending inside a sample or the header', async () => {
    const whole = (await download(ownerA.client, url('mixed'))).bytes;
    const size = whole.length;
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=20-50', 20, 50],
      ['bytes=45-1000', 45, 1000],
      ['bytes=-100', size - 100, size - 1],
      ['bytes=-99999', 0, size - 1],
    ] as const) {
      const response = await download(ownerA.client, url('mixed'), range);
      expect(response.status, range).toBe(206);
      expect(response.headers['content-range'], range).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers['content-length'], range).toBe(String(end - start + 1));
      expect(response.bytes.equals(whole.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('needs calls:read; a call without a recording, or whose file is gone, is recording_not_found', async () => {
    const agentsOnly = await h.apiKey(ownerA, ['agents:read']);
    expect((await agentsOnly.get(url())).status).toBe(403);
    const reader = await h.apiKey(ownerA, ['calls:read']);
    expect((await reader.get(url())).status).toBe(200);
    const none = await ownerA.client.get(`/api/v1/calls/${A[1]!.id}/recording`);
    expect([none.status, none.body.error.code]).toEqual([404, 'recording_not_found']);
    const gone = A[2]!.id;
    await h.database.db
      .update(calls)
      .set({ recordingPath: path.join(dir, 'missing.wav') })
      .where(eq(calls.id, gone));
    const response = await ownerA.client.get(`/api/v1/calls/${gone}/recording?channels=mixed`);
    expect([response.status, response.body.error.code]).toEqual([404, 'recording_not_found']);
  });
});

/** A minimal CSV reader (quoted cells with doubled quotes and line breaks), to check what was written. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (quoted) {
      cell += c;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  return rows;
}

describe('CSV export', () => {
  it('exports exactly the filtered calls in the list’s order, one line each after the header', async () => {
    const query = 'status=completed,busy&sort=-durationSeconds';
    const response = await ownerA.client.get(`/api/v1/calls/export.csv?${query}`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe('attachment; filename="calls.csv"');
    const rows = parseCsv(response.body);
    expect(rows[0]).toEqual(CALL_CSV_COLUMNS.map(([name]) => name));
    expect(rows.slice(1).map((r) => r[0])).toEqual(await allIds(ownerA.client, query, 100));
    expect(rows.slice(1).every((r) => r.length === CALL_CSV_COLUMNS.length)).toBe(true);
  });

  it('never exports another organization’s calls', async () => {
    const text = (await ownerA.client.get('/api/v1/calls/export.csv')).body as string;
    expect(parseCsv(text)).toHaveLength(A.length + 1);
    for (const id of bIds) expect(text).not.toContain(id);
  });

  it('quotes cells with quotes, commas and line breaks, and neutralises formulas', async () => {
    const text = (await ownerA.client.get('/api/v1/calls/export.csv')).body as string;
    const quoted = FIXTURE[2]!;
    const formula = FIXTURE[4]!;
    expect(text).toContain(`,"Busy, ""line 1""\nretry later",`);
    expect(text).toContain(`,"'=HYPERLINK(""http://evil.test"")",`);
    const rows = parseCsv(text);
    const column = CALL_CSV_COLUMNS.findIndex(([name]) => name === 'carrierReason');
    const from = CALL_CSV_COLUMNS.findIndex(([name]) => name === 'from');
    expect(rows.find((r) => r[0] === quoted.id)?.[column]).toBe('Busy, "line 1"\nretry later');
    expect(rows.find((r) => r[0] === formula.id)?.[column]).toBe('\'=HYPERLINK("http://evil.test")');
    // A leading + is a formula to a spreadsheet too: numbers are written as text.
    expect(rows.find((r) => r[0] === formula.id)?.[from]).toBe(`'${formula.from}`);
  });

  it('needs calls:read', async () => {
    const agentsOnly = await h.apiKey(ownerA, ['agents:read']);
    const response = await agentsOnly.get('/api/v1/calls/export.csv');
    expect([response.status, response.body.error.code]).toEqual([403, 'forbidden']);
  });
});

describe('erasure', () => {
  const rowsOf = async (table: typeof callEvents | typeof transcriptTurns | typeof leads, callId: string) => {
    const [row] = await h.database.db.select({ n: count() }).from(table).where(eq(table.callId, callId));
    return row?.n ?? 0;
  };

  const deliveriesAbout = async (callId: string) => {
    const [row] = await h.database.db
      .select({ n: count() })
      .from(webhookDeliveries)
      .where(sql`${webhookDeliveries.payload}->'data'->>'callId' = ${callId}`);
    return row?.n ?? 0;
  };

  it('removes the call, its events, transcript, leads, webhook deliveries and recording; the audit row keeps no numbers', async () => {
    const s = A.find((x) => x.transcript.length > 0 && x.from !== null && x !== A[0])!;
    const file = path.join(dir, `erase-${s.id}.wav`);
    await writeFile(file, stereoWav(10).bytes);
    await h.database.db.update(calls).set({ recordingPath: file }).where(eq(calls.id, s.id));
    await h.database.db.insert(callEvents).values({
      callId: s.id,
      seq: 1,
      organizationId: ownerA.organizationId,
      type: 'status',
      atMs: 0,
      data: {},
    });
    await h.database.db
      .insert(leads)
      .values({ organizationId: ownerA.organizationId, callId: s.id, fields: { phone: s.from } });
    // A delivery of the call's end-of-call report, which carries its transcript.
    const endpoint = await ownerA.client.post('/api/v1/webhook-endpoints', {
      url: 'https://hooks.example.test/parley',
    });
    expect(endpoint.status).toBe(201);
    const eventId = uuidv7();
    await h.database.db.insert(webhookDeliveries).values({
      endpointId: endpoint.body.id,
      organizationId: ownerA.organizationId,
      eventId,
      eventType: 'call.ended',
      payload: {
        id: eventId,
        type: 'call.ended',
        createdAt: new Date().toISOString(),
        data: { callId: s.id },
      },
      status: 'succeeded',
    });
    expect([
      await rowsOf(callEvents, s.id),
      await rowsOf(transcriptTurns, s.id),
      await rowsOf(leads, s.id),
      await deliveriesAbout(s.id),
    ]).toEqual([1, s.transcript.length, 1, 1]);

    const response = await ownerA.client.delete(`/api/v1/calls/${s.id}`);
    expect(response.status).toBe(204);
    expect((await ownerA.client.get(`/api/v1/calls/${s.id}`)).status).toBe(404);
    expect(await allIds(ownerA.client, '', 100)).not.toContain(s.id);
    expect([
      await rowsOf(callEvents, s.id),
      await rowsOf(transcriptTurns, s.id),
      await rowsOf(leads, s.id),
      await deliveriesAbout(s.id),
    ]).toEqual([0, 0, 0, 0]);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });

    const [audit] = await auditRows(h.database, ownerA.organizationId, 'call.erase');
    expect(audit).toMatchObject({ targetType: 'call', targetId: s.id });
    const logged = JSON.stringify(audit);
    for (const personal of [s.from!.slice(1), s.to!.slice(1), s.transcript[0]!])
      expect(logged).not.toContain(personal);
  });

  it('refuses a call in progress (409 call_in_progress) and keeps it whole', async () => {
    // Not the call the test above erased.
    const s = [...A].reverse().find((x) => x.transcript.length > 0)!;
    await h.database.db.update(calls).set({ status: 'in_progress', endedAt: null }).where(eq(calls.id, s.id));
    const response = await ownerA.client.delete(`/api/v1/calls/${s.id}`);
    expect([response.status, response.body.error.code]).toEqual([409, 'call_in_progress']);
    expect(await rowsOf(transcriptTurns, s.id)).toBe(s.transcript.length);
    expect((await ownerA.client.get(`/api/v1/calls/${s.id}`)).body.status).toBe('in_progress');
  });

  it('cancels a queued call at the carrier, then erases it', async () => {
    const credentialId = await created(ownerA.client, '/api/v1/credentials', {
      name: 'Twilio account',
      provider: 'twilio',
      values: {
        accountSid: 'AC0123456789abcdef0123456789abcdef',
        authToken: '5f2c9a7e1b3d4c6f8a0b2d4e6f8a1c3e',
      },
    });
    await ownerA.client.post(`/api/v1/agents/${agents.A[0]}/publish`);
    const from = '+442079460999';
    await created(ownerA.client, '/api/v1/phone-numbers', { carrier: 'twilio', number: from, credentialId });
    const placed = await ownerA.client.post('/api/v1/calls', { agentId: agents.A[0], from, to: NUMBERS[0] });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);

    expect((await ownerA.client.delete(`/api/v1/calls/${placed.body.id}`)).status).toBe(204);
    expect(dialer.hangUps.filter((u) => u.callId === placed.body.id)).toEqual([
      expect.objectContaining({ carrierCallId: placed.body.carrierCallId }),
    ]);
    expect((await ownerA.client.get(`/api/v1/calls/${placed.body.id}`)).status).toBe(404);
    expect(
      (await auditRows(h.database, ownerA.organizationId, 'call.cancel')).map((a) => a.targetId),
    ).toEqual([placed.body.id]);
  });

  it('leaves B’s call and its recording alone when A tries to erase it', async () => {
    const s = B[0]!;
    const file = path.join(dir, `b-${s.id}.wav`);
    await writeFile(file, stereoWav(10).bytes);
    await h.database.db.update(calls).set({ recordingPath: file }).where(eq(calls.id, s.id));
    expect((await ownerA.client.delete(`/api/v1/calls/${s.id}`)).status).toBe(404);
    expect((await readFile(file)).length).toBe(44 + 40);
    expect((await ownerB.client.get(`/api/v1/calls/${s.id}`)).status).toBe(200);
  });
});
