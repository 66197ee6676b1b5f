import { describe, expect, it } from 'vitest';
import { assistantOverridesOf, storedAssistantRequest } from './ask-assistant-request.js';

describe('assistantOverridesOf', () => {
  it('reads the texts the hook gave a call from its metadata, and nothing else', () => {
    expect(
      assistantOverridesOf({
        crm: 'C-42',
        assistantOverrides: { firstMessage: 'Hi {{name}}', systemPrompt: 'Be brief.', voice: 'x' },
      }),
    ).toEqual({ firstMessage: 'Hi {{name}}', systemPrompt: 'Be brief.' });
  });

  it('finds none in a call without them, or in a label that only shares the name', () => {
    expect(assistantOverridesOf({})).toEqual({});
    expect(assistantOverridesOf(null)).toEqual({});
    // An outbound call's own metadata holds only scalars: such a label is no override.
    expect(assistantOverridesOf({ assistantOverrides: 'Hello' })).toEqual({});
    expect(assistantOverridesOf({ assistantOverrides: { firstMessage: 3 } })).toEqual({});
  });
});

describe('storedAssistantRequest', () => {
  it('reads a stored hook with its defaults, and none from a value that no longer reads', () => {
    expect(storedAssistantRequest({ url: 'https://crm.example.com/a' })).toEqual({
      url: 'https://crm.example.com/a',
      headers: {},
      timeoutMs: 1500,
    });
    expect(storedAssistantRequest(null)).toBeNull();
    expect(storedAssistantRequest({ url: 'ftp://x' })).toBeNull();
  });
});
