import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type SignedInUser } from '../../../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const paths = (response: { body: { error: { details: { path: string }[] } } }) =>
  response.body.error.details.map((d) => d.path).sort();

async function newCredential(user: SignedInUser, provider = 'openai') {
  const response = await user.client.post('/api/v1/credentials', {
    name: `${provider} key`,
    provider,
    values: { apiKey: 'sk-test-0123456789abcdefghijkl' },
  });
  if (response.status !== 201) throw new Error(JSON.stringify(response.body));
  return response.body.id as string;
}

describe('creating agents', () => {
  it('fills in every default from a name alone', async () => {
    const owner = await h.signup('defaults');
    const created = await owner.client.post('/api/v1/agents', { name: '  Receptionist ' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(String),
      name: 'Receptionist',
      publishedVersion: null,
      hasUnpublishedChanges: true,
    });
    expect(created.body.draft).toMatchObject({
      name: 'Receptionist',
      language: 'en-US',
      firstMessageMode: 'agent-speaks',
      llm: { provider: 'openai', model: 'gpt-4o-mini', fallbacks: [], options: {} },
      turnTaking: { endpointingSilenceMs: 500, deadAirMs: 3000 },
      recording: { enabled: true },
      webhookUrl: null,
      maxDurationSeconds: 1800,
    });
    const got = await owner.client.get(`/api/v1/agents/${created.body.id}`);
    expect(got.body).toEqual(created.body);
  });

  it('lists every offending field of a bad config in one 422', async () => {
    const owner = await h.signup('invalid');
    const bad = await owner.client.post('/api/v1/agents', {
      name: '',
      language: 'English',
      llm: { provider: 'openai', model: 'gpt-4o', temperature: 7 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_config');
    expect(paths(bad)).toEqual(['language', 'llm.temperature', 'name']);
    expect(bad.body.error.details).toContainEqual({
      path: 'language',
      message: 'must be a BCP 47 language tag such as `en` or `en-US`',
    });
    expect((await owner.client.get('/api/v1/agents')).body.data).toEqual([]);
  });

  it('checks providers and their options against the provider catalog', async () => {
    const owner = await h.signup('catalog-check');
    const bad = await owner.client.post('/api/v1/agents', {
      name: 'A',
      stt: { provider: 'whisperx' },
      llm: {
        provider: 'openai',
        model: 'gpt-4o',
        fallbacks: [{ provider: 'groq', model: 'x', options: { seed: 1 } }],
      },
      tts: { provider: 'elevenlabs', voice: 'v', options: { stability: 3 } },
    });
    expect(bad.status).toBe(422);
    expect(paths(bad)).toEqual(['llm.fallbacks.0.options', 'stt.provider', 'tts.options.stability']);
    expect(bad.body.error.details).toContainEqual({
      path: 'stt.provider',
      message: 'unknown stt provider `whisperx`; one of: deepgram',
    });
    const good = await owner.client.post('/api/v1/agents', {
      name: 'B',
      tts: { provider: 'elevenlabs', voice: 'v', options: { stability: 0.4 } },
    });
    expect(good.status).toBe(201);
  });

  it('rejects unknown fields, at the top and nested', async () => {
    const owner = await h.signup('unknown');
    const bad = await owner.client.post('/api/v1/agents', {
      name: 'A',
      prompt: 'typo for systemPrompt',
      tts: { provider: 'cartesia', voice: 'v', pitch: 3 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '(root)', message: expect.stringContaining('prompt') }),
        expect.objectContaining({ path: 'tts', message: expect.stringContaining('pitch') }),
      ]),
    );
    const notAnObject = await owner.client.post('/api/v1/agents', ['name']);
    expect(notAnObject.status).toBe(422);
  });

  it('rejects a {{variable}} that is not declared, and accepts declared and built-in ones', async () => {
    const owner = await h.signup('templating');
    const bad = await owner.client.post('/api/v1/agents', {
      name: 'A',
      systemPrompt: 'Greet {{ first_name }} warmly. Today is {{date}}.',
      firstMessage: 'Hello {{ customer name }}',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual([
      { path: 'systemPrompt', message: 'uses undeclared variable {{first_name}}: add it to `variables`' },
      { path: 'firstMessage', message: 'malformed placeholder {{ customer name }}' },
    ]);
    const good = await owner.client.post('/api/v1/agents', {
      name: 'A',
      systemPrompt: 'Greet {{ first_name }} warmly. Today is {{date}}.',
      variables: [{ name: 'first_name', default: 'there' }],
    });
    expect(good.status).toBe(201);
  });

  it('accepts credentials of its own organization and names each foreign, missing or mismatched one', async () => {
    const owner = await h.signup('creds');
    const other = await h.signup('creds-other');
    const mine = await newCredential(owner);
    const myDeepgram = await newCredential(owner, 'deepgram');
    const theirs = await newCredential(other);
    const bad = await owner.client.post('/api/v1/agents', {
      name: 'A',
      stt: { provider: 'deepgram', credentialId: mine },
      llm: {
        provider: 'openai',
        model: 'gpt-4o',
        credentialId: theirs,
        fallbacks: [
          { provider: 'groq', model: 'llama', credentialId: '0190a0a0-0000-7000-8000-000000000000' },
        ],
      },
      tts: { provider: 'cartesia', voice: 'v', credentialId: 'not-a-uuid' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual(
      expect.arrayContaining([
        { path: 'llm.credentialId', message: 'no such credential in this organization' },
        { path: 'llm.fallbacks.0.credentialId', message: 'no such credential in this organization' },
        { path: 'tts.credentialId', message: 'must be a UUID' },
        // An OpenAI key cannot serve the recogniser: caught now, not on the first call.
        { path: 'stt.credentialId', message: 'the credential is for openai, not deepgram' },
      ]),
    );
    expect(paths(bad)).toEqual([
      'llm.credentialId',
      'llm.fallbacks.0.credentialId',
      'stt.credentialId',
      'tts.credentialId',
    ]);
    const good = await owner.client.post('/api/v1/agents', {
      name: 'A',
      stt: { provider: 'deepgram', credentialId: myDeepgram },
      llm: { provider: 'openai', model: 'gpt-4o', credentialId: mine },
    });
    expect(good.status).toBe(201);
    expect(good.body.draft.llm.credentialId).toBe(mine);
  });
});

describe('editing, publishing and restoring', () => {
  it('create → edit → publish → edit → publish → restore v1: the draft is v1 and versions never change', async () => {
    const owner = await h.signup('lifecycle');
    const created = await owner.client.post('/api/v1/agents', {
      name: 'Support',
      systemPrompt: 'You are helpful.',
      firstMessage: 'Hi!',
    });
    const id = created.body.id as string;

    const edited = await owner.client.patch(`/api/v1/agents/${id}`, {
      systemPrompt: 'You are very helpful.',
      turnTaking: { endpointingSilenceMs: 700 },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.draft.systemPrompt).toBe('You are very helpful.');
    // A merge patch keeps the sibling fields of what it changes.
    expect(edited.body.draft.turnTaking).toMatchObject({ endpointingSilenceMs: 700, deadAirMs: 3000 });
    expect(edited.body.draft.firstMessage).toBe('Hi!');

    const v1 = await owner.client.post(`/api/v1/agents/${id}/publish`);
    expect(v1.status).toBe(201);
    expect(v1.body).toEqual({
      agentId: id,
      version: 1,
      config: edited.body.draft,
      publishedBy: owner.userId,
      createdAt: expect.any(String),
    });
    const afterV1 = await owner.client.get(`/api/v1/agents/${id}`);
    expect(afterV1.body).toMatchObject({ publishedVersion: 1, hasUnpublishedChanges: false });

    // Publishing an unchanged draft returns the current version instead of a copy.
    const again = await owner.client.post(`/api/v1/agents/${id}/publish`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(v1.body);

    const edited2 = await owner.client.patch(`/api/v1/agents/${id}`, {
      name: 'Support v2',
      firstMessage: 'Hello!',
    });
    expect(edited2.body).toMatchObject({
      name: 'Support v2',
      hasUnpublishedChanges: true,
      publishedVersion: 1,
    });
    const v2 = await owner.client.post(`/api/v1/agents/${id}/publish`);
    expect(v2.status).toBe(201);
    expect(v2.body.version).toBe(2);

    const restored = await owner.client.post(`/api/v1/agents/${id}/versions/1/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body.draft).toEqual(v1.body.config);
    expect(restored.body).toMatchObject({
      name: 'Support',
      publishedVersion: 2,
      hasUnpublishedChanges: true,
    });

    // Versions are immutable: edits and restores leave them as they were published.
    await owner.client.patch(`/api/v1/agents/${id}`, { systemPrompt: 'Something else entirely.' });
    expect((await owner.client.get(`/api/v1/agents/${id}/versions/1`)).body).toEqual(v1.body);
    expect((await owner.client.get(`/api/v1/agents/${id}/versions/2`)).body).toEqual(v2.body);

    const versions = await owner.client.get(`/api/v1/agents/${id}/versions`);
    expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const page1 = await owner.client.get(`/api/v1/agents/${id}/versions?limit=1`);
    expect(page1.body.data.map((v: { version: number }) => v.version)).toEqual([2]);
    const page2 = await owner.client.get(
      `/api/v1/agents/${id}/versions?limit=1&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body).toEqual({ data: [v1.body], nextCursor: null });

    // Publishing the restored draft makes a new version 3 with v1's config.
    await owner.client.post(`/api/v1/agents/${id}/versions/1/restore`);
    const v3 = await owner.client.post(`/api/v1/agents/${id}/publish`);
    expect(v3.body).toMatchObject({ version: 3, config: v1.body.config });
  });

  it('restoring the published version, or undoing an edit, leaves nothing unpublished', async () => {
    const owner = await h.signup('undo');
    const id = (await owner.client.post('/api/v1/agents', { name: 'A', firstMessage: 'one' })).body.id;
    await owner.client.post(`/api/v1/agents/${id}/publish`);
    expect(
      (await owner.client.patch(`/api/v1/agents/${id}`, { firstMessage: 'two' })).body.hasUnpublishedChanges,
    ).toBe(true);
    expect(
      (await owner.client.patch(`/api/v1/agents/${id}`, { firstMessage: 'one' })).body.hasUnpublishedChanges,
    ).toBe(false);
    await owner.client.patch(`/api/v1/agents/${id}`, { firstMessage: 'three' });
    const restored = await owner.client.post(`/api/v1/agents/${id}/versions/1/restore`);
    expect(restored.body).toMatchObject({ hasUnpublishedChanges: false, publishedVersion: 1 });
    expect(restored.body.draft.firstMessage).toBe('one');
  });

  it('merge patch: null resets a field to its default; arrays are replaced whole', async () => {
    const owner = await h.signup('merge');
    const created = await owner.client.post('/api/v1/agents', {
      name: 'A',
      language: 'de-DE',
      webhookUrl: 'https://hooks.example.test/parley',
      turnTaking: { endpointingSilenceMs: 900, deadAirMs: 5000 },
      idle: { reminderMessages: ['Hallo?', 'Sind Sie noch da?'] },
      metadata: { team: 'sales', tier: 2 },
    });
    const id = created.body.id;
    const patched = await owner.client.patch(`/api/v1/agents/${id}`, {
      language: null,
      webhookUrl: null,
      turnTaking: { deadAirMs: null },
      idle: { reminderMessages: ['Noch da?'] },
      metadata: { tier: null, region: 'eu' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.draft).toMatchObject({
      language: 'en-US',
      webhookUrl: null,
      turnTaking: { endpointingSilenceMs: 900, deadAirMs: 3000 },
      idle: { reminderMessages: ['Noch da?'] },
      metadata: { team: 'sales', region: 'eu' },
    });
    expect(patched.body.draft.metadata).not.toHaveProperty('tier');
    const resetSection = await owner.client.patch(`/api/v1/agents/${id}`, { turnTaking: null });
    expect(resetSection.body.draft.turnTaking.endpointingSilenceMs).toBe(500);
  });

  it('a patch that makes the draft invalid is refused whole, listing every field', async () => {
    const owner = await h.signup('badpatch');
    const id = (await owner.client.post('/api/v1/agents', { name: 'A' })).body.id;
    const bad = await owner.client.patch(`/api/v1/agents/${id}`, {
      name: null,
      maxDurationSeconds: 1,
      turnTaking: { deadAirMs: 'long' },
      surprise: true,
      systemPrompt: 'Hi {{who}}',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_config');
    expect(paths(bad)).toEqual(['(root)', 'maxDurationSeconds', 'name', 'turnTaking.deadAirMs']);
    // The variable check runs once the shape is right.
    const undeclared = await owner.client.patch(`/api/v1/agents/${id}`, { systemPrompt: 'Hi {{who}}' });
    expect(undeclared.status).toBe(422);
    expect(paths(undeclared)).toEqual(['systemPrompt']);
    const unchanged = await owner.client.get(`/api/v1/agents/${id}`);
    expect(unchanged.body.draft).toMatchObject({ name: 'A', maxDurationSeconds: 1800, systemPrompt: '' });
    const notAnObject = await owner.client.patch(`/api/v1/agents/${id}`, ['name']);
    expect(notAnObject.status).toBe(400);
  });

  it('restoring a version whose credential is gone names the field', async () => {
    const owner = await h.signup('gone');
    const credential = await newCredential(owner, 'elevenlabs');
    const id = (
      await owner.client.post('/api/v1/agents', {
        name: 'A',
        tts: { provider: 'elevenlabs', voice: 'rachel', credentialId: credential },
      })
    ).body.id;
    await owner.client.post(`/api/v1/agents/${id}/publish`);
    await owner.client.patch(`/api/v1/agents/${id}`, { tts: { credentialId: null } });
    await owner.client.post(`/api/v1/agents/${id}/publish`);
    expect((await owner.client.delete(`/api/v1/credentials/${credential}`)).status).toBe(204);
    const restore = await owner.client.post(`/api/v1/agents/${id}/versions/1/restore`);
    expect(restore.status).toBe(422);
    expect(restore.body.error.details).toEqual([
      { path: 'tts.credentialId', message: 'no such credential in this organization' },
    ]);
  });

  it('unknown versions and bad version numbers are told apart from unknown agents', async () => {
    const owner = await h.signup('versions');
    const id = (await owner.client.post('/api/v1/agents', { name: 'A' })).body.id;
    const missing = await owner.client.get(`/api/v1/agents/${id}/versions/1`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('agent_version_not_found');
    expect((await owner.client.post(`/api/v1/agents/${id}/versions/7/restore`)).body.error.code).toBe(
      'agent_version_not_found',
    );
    const zero = await owner.client.get(`/api/v1/agents/${id}/versions/0`);
    expect(zero.status).toBe(400);
    expect(zero.body.error.details).toEqual([expect.objectContaining({ path: 'params.version' })]);
    const noAgent = await owner.client.get('/api/v1/agents/0190a0a0-0000-7000-8000-000000000000/versions/1');
    expect(noAgent.body.error.code).toBe('agent_not_found');
  });
});

describe('deleting agents', () => {
  it('soft-deletes: 404 on every route afterwards, gone from the list', async () => {
    const owner = await h.signup('deleter');
    const keep = (await owner.client.post('/api/v1/agents', { name: 'Keep' })).body.id;
    const id = (await owner.client.post('/api/v1/agents', { name: 'Drop' })).body.id;
    await owner.client.post(`/api/v1/agents/${id}/publish`);
    expect((await owner.client.delete(`/api/v1/agents/${id}`)).status).toBe(204);
    for (const response of [
      await owner.client.get(`/api/v1/agents/${id}`),
      await owner.client.patch(`/api/v1/agents/${id}`, { name: 'B' }),
      await owner.client.delete(`/api/v1/agents/${id}`),
      await owner.client.post(`/api/v1/agents/${id}/publish`),
      await owner.client.get(`/api/v1/agents/${id}/versions`),
      await owner.client.get(`/api/v1/agents/${id}/versions/1`),
      await owner.client.post(`/api/v1/agents/${id}/versions/1/restore`),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('agent_not_found');
    }
    const list = await owner.client.get('/api/v1/agents');
    expect(list.body.data.map((a: { id: string }) => a.id)).toEqual([keep]);
  });
});

describe('listing agents', () => {
  it('pages newest first', async () => {
    const owner = await h.signup('lister');
    const ids = [];
    for (const name of ['one', 'two', 'three']) {
      ids.push((await owner.client.post('/api/v1/agents', { name })).body.id);
    }
    const first = await owner.client.get('/api/v1/agents?limit=2');
    expect(first.body.data.map((a: { name: string }) => a.name)).toEqual(['three', 'two']);
    const second = await owner.client.get(`/api/v1/agents?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.data.map((a: { id: string }) => a.id)).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();
  });
});
