// A fuzz pass over every JSON body the API accepts: random JSON (and near-miss mutations of bodies
// shaped like the schema) sent by an owner must always get an answer below 500 in the error format.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

interface Operation {
  method: 'POST' | 'PATCH' | 'PUT';
  path: string;
}

const SAMPLE_ID = '01890000-0000-7000-8000-000000000000';

async function bodyOperations(): Promise<Operation[]> {
  const spec = (await h.anonymous.get('/api/openapi.json')).body as {
    paths: Record<string, Record<string, { requestBody?: unknown }>>;
  };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const upper = method.toUpperCase();
      if ((upper === 'POST' || upper === 'PATCH' || upper === 'PUT') && op.requestBody) {
        // Logging out would only end the fuzzer's own session.
        if (path !== '/api/v1/auth/logout')
          operations.push({ method: upper, path: path.replace(/\{[^}]+\}/g, SAMPLE_ID) });
      }
    }
  }
  return operations;
}

// Values that tend to break hand-written code: wrong types, huge numbers, odd strings, deep nesting.
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(
    null,
    '',
    ' ',
    '{{',
    '{{ x }}',
    '\u0000',
    'NaN',
    -1,
    0,
    1e308,
    -1e308,
    2 ** 53 + 1,
    true,
    [],
    {},
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const FIELDS = [
  'name',
  'email',
  'password',
  'scopes',
  'role',
  'provider',
  'values',
  'llm',
  'stt',
  'tts',
  'variables',
  'systemPrompt',
  'turnTaking',
  'metadata',
  'token',
  'userId',
  'expiresAt',
  'reason',
  'signupEnabled',
  'tools',
  'preCallContext',
  'kind',
  'webhook',
  'parameters',
  'callActions',
  'voicemail',
];
const objectish = fc.dictionary(fc.constantFrom(...FIELDS), nasty, { maxKeys: 6 });

describe('fuzzing JSON bodies', () => {
  it('never answers 500', async () => {
    const operations = await bodyOperations();
    expect(operations.length).toBeGreaterThan(3);
    const owner = await h.signup('fuzzer');
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(fc.oneof(objectish, nasty), async (body) => {
          const response = await owner.client.request(operation.method, operation.path, body);
          if (response.status >= 500) {
            throw new Error(
              `${operation.method} ${operation.path} answered ${response.status} to ${JSON.stringify(body)}`,
            );
          }
          if (response.status >= 400) expect(typeof response.body.error?.code).toBe('string');
        }),
        { numRuns: Number(process.env.PARLEY_FUZZ_RUNS ?? 40) },
      );
    }
  });
});
