import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe('GET /providers', () => {
  it('lists every provider with its models, voices and option schema, to users and keys alike', async () => {
    const owner = await h.signup('catalog');
    const key = await h.apiKey(owner, ['agents:read']);
    for (const client of [owner.client, key]) {
      const response = await client.get('/api/v1/providers');
      expect(response.status).toBe(200);
      const byId = new Map(
        (response.body.data as any[]).map((entry) => [`${entry.kind}:${entry.id}`, entry]),
      );
      expect([...byId.keys()]).toEqual(
        expect.arrayContaining([
          'stt:deepgram',
          'llm:openai',
          'llm:openai-compatible',
          'tts:cartesia',
          'tts:elevenlabs',
        ]),
      );
      expect(byId.get('stt:deepgram')).toMatchObject({ defaultModel: 'nova-3', telephonyNative: true });
      expect(byId.get('tts:elevenlabs').optionsSchema).toMatchObject({
        type: 'object',
        properties: { stability: { type: 'number', minimum: 0, maximum: 1 } },
      });
    }
  });

  it('needs a signed-in user or an API key', async () => {
    expect((await h.anonymous.get('/api/v1/providers')).status).toBe(401);
  });
});
