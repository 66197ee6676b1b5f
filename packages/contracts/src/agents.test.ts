import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentConfig, AgentVersionParams } from './agents.js';
import { fieldIssues } from './errors.js';

function issuesOf(input: unknown) {
  const result = AgentConfig.safeParse(input);
  return result.success ? [] : fieldIssues(result.error);
}
const pathsOf = (input: unknown) =>
  issuesOf(input)
    .map((i) => i.path)
    .sort();

describe('AgentConfig', () => {
  it('needs only a name and fills in every default', () => {
    const config = AgentConfig.parse({ name: ' Front desk ' });
    expect(config).toMatchObject({
      name: 'Front desk',
      language: 'en-US',
      systemPrompt: '',
      firstMessageMode: 'agent-speaks',
      variables: [],
      stt: { provider: 'deepgram', model: 'nova-3', keywords: [], options: {} },
      llm: { provider: 'openai', model: 'gpt-4o-mini', fallbacks: [], options: {} },
      tts: { provider: 'cartesia', voice: 'default' },
      turnTaking: { endpointingSilenceMs: 500, minInterruptionSpeechMs: 300, deadAirMs: 3000 },
      idle: { reminderAfterMs: 8000, maxReminders: 2 },
      maxDurationSeconds: 1800,
      recording: { enabled: true },
      tools: [],
      preCallContext: null,
      webhookUrl: null,
      metadata: {},
    });
    // Parsing is idempotent: a stored config parses to itself.
    expect(AgentConfig.parse(config)).toEqual(config);
  });

  it('lets the agent end calls by default, and transfer or press keys only when configured', () => {
    const config = AgentConfig.parse({ name: 'A' });
    expect(config.callActions).toEqual({ endCall: true, transferDestinations: [], sendDtmf: false });
    expect(config.voicemail).toEqual({ detect: true, action: 'hang_up', message: '' });
  });

  it('checks transfer destinations and the voicemail message', () => {
    expect(
      pathsOf({
        name: 'A',
        variables: [{ name: 'first_name' }],
        callActions: {
          transferDestinations: [
            { name: 'sales', number: '+14155550100', message: 'Connecting you, {{first_name}}.' },
            { name: 'sales', number: '+14155550101' },
            { name: 'Front Desk', number: '555-0100', message: 'Hold on {{nobody}}' },
          ],
        },
        voicemail: { action: 'leave_message', message: ' ' },
      }),
    ).toEqual([
      'callActions.transferDestinations.1.name',
      'callActions.transferDestinations.2.message',
      'callActions.transferDestinations.2.name',
      'callActions.transferDestinations.2.number',
      'voicemail.message',
    ]);
    expect(
      pathsOf({
        name: 'A',
        voicemail: { action: 'leave_message', message: 'Call us back, {{nobody}}.' },
      }),
    ).toEqual(['voicemail.message']);
  });

  it('fills defaults inside a partly given section', () => {
    const config = AgentConfig.parse({ name: 'A', turnTaking: { deadAirMs: 4000 } });
    expect(config.turnTaking).toMatchObject({ deadAirMs: 4000, endpointingSilenceMs: 500 });
  });

  it('reports every offending field at once', () => {
    expect(
      pathsOf({
        name: '',
        language: 'english',
        firstMessageMode: 'whoever',
        llm: { provider: 'OpenAI', model: '' },
        tts: { provider: 'cartesia', voice: 'v', speed: 9 },
        turnTaking: { endpointingSilenceMs: 50.5 },
        maxDurationSeconds: 5,
        webhookUrl: 'ftp://example.test/hook',
        tools: [{ toolId: 'nope' }],
      }),
    ).toEqual([
      'firstMessageMode',
      'language',
      'llm.model',
      'llm.provider',
      'maxDurationSeconds',
      'name',
      'tools.0.toolId',
      'tts.speed',
      'turnTaking.endpointingSilenceMs',
      'webhookUrl',
    ]);
  });

  it('rejects unknown fields at every level', () => {
    const issues = issuesOf({ name: 'A', prompt: 'x', llm: { provider: 'openai', model: 'm', temp: 1 } });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: '(root)', message: expect.stringContaining('"prompt"') },
        { path: 'llm', message: expect.stringContaining('"temp"') },
      ]),
    );
  });

  it('requires declared or built-in variables in every templated text', () => {
    expect(
      issuesOf({
        name: 'A',
        systemPrompt: 'Call {{customer.number}} at {{time}} about {{order_id}}',
        firstMessage: 'Hi {{ name }}',
        closingMessage: 'Bye {{nick}}',
        idle: { reminderMessages: ['Still there, {{name}}?', '{{ bad name }}'] },
        variables: [{ name: 'name', default: 'friend' }],
      }),
    ).toEqual([
      { path: 'systemPrompt', message: 'uses undeclared variable {{order_id}}: add it to `variables`' },
      { path: 'closingMessage', message: 'uses undeclared variable {{nick}}: add it to `variables`' },
      { path: 'idle.reminderMessages.1', message: 'malformed placeholder {{ bad name }}' },
    ]);
  });

  it('rejects duplicate and malformed variable names', () => {
    expect(
      issuesOf({
        name: 'A',
        variables: [{ name: 'city' }, { name: 'city', default: 'Paris' }, { name: 'two words' }],
      }),
    ).toEqual([
      { path: 'variables.2.name', message: 'must be a name such as `first_name` or `customer.tier`' },
      { path: 'variables.1.name', message: 'duplicate variable `city`' },
    ]);
  });

  it('limits metadata to 50 scalar entries', () => {
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    expect(pathsOf({ name: 'A', metadata: many })).toEqual(['metadata']);
    expect(pathsOf({ name: 'A', metadata: { nested: { no: 1 } } })).toEqual(['metadata.nested']);
    expect(pathsOf({ name: 'A', metadata: { ok: null, n: 1, b: true, s: 'x' } })).toEqual([]);
  });

  it('keeps LLM fallbacks to three, each a full target', () => {
    const target = { provider: 'groq', model: 'llama-3.1-8b' };
    expect(
      pathsOf({ name: 'A', llm: { provider: 'openai', model: 'm', fallbacks: [target, target, target] } }),
    ).toEqual([]);
    expect(
      pathsOf({
        name: 'A',
        llm: { provider: 'openai', model: 'm', fallbacks: [target, target, target, target] },
      }),
    ).toEqual(['llm.fallbacks']);
    expect(
      pathsOf({ name: 'A', llm: { provider: 'openai', model: 'm', fallbacks: [{ provider: 'groq' }] } }),
    ).toEqual(['llm.fallbacks.0.model']);
  });
});

describe('AgentConfig on arbitrary input', () => {
  // The cross-field checks (variables, placeholders) must cope with a half-valid config: an exception
  // here would be a 500 instead of a list of field errors.
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom('{{x}}', '{{ a b }}', 'Hi {{name}}', [5], [{ name: 'x' }], {
      reminderMessages: [5, '{{y}}'],
    }),
  );
  const keys = [
    'name',
    'variables',
    'systemPrompt',
    'firstMessage',
    'closingMessage',
    'idle',
    'llm',
    'metadata',
  ];
  it('never throws, whatever the shape', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 6 }), (input) => {
        const result = AgentConfig.safeParse(input);
        if (!result.success) expect(fieldIssues(result.error).length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('AgentVersionParams', () => {
  it('reads the version from the path as a positive whole number', () => {
    const id = '0190a0a0-0000-7000-8000-000000000000';
    expect(AgentVersionParams.parse({ id, version: '3' })).toEqual({ id, version: 3 });
    expect(AgentVersionParams.safeParse({ id, version: '0' }).success).toBe(false);
    expect(AgentVersionParams.safeParse({ id, version: '1.5' }).success).toBe(false);
  });
});
