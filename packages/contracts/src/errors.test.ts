import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_CODES, fieldIssues } from './errors.js';

const DOC = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));

function renderErrorDoc(): string {
  const rows = Object.entries(ERROR_CODES)
    .sort(([, a], [, b]) => a.status - b.status)
    .map(([code, { status, description }]) => `| \`${code}\` | ${status} | ${description} |`);
  return [
    '# API error codes',
    '',
    'Every error answers with this body and the HTTP status below:',
    '',
    '```json',
    '{ "error": { "code": "agent_not_found", "message": "Agent not found", "details": null, "requestId": "…" } }',
    '```',
    '',
    '`details`, when present, is usually a list of `{ "path": "body.llm.model", "message": "…" }`, one per',
    'offending field. `requestId` is also in the `x-request-id` response header and in every log line of the',
    'request. Another organization’s object answers exactly like a missing one.',
    '',
    '<!-- Generated from packages/contracts/src/errors.ts: run `UPDATE_DOCS=1 npx vitest run --project unit errors` -->',
    '',
    '| code | status | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

describe('error codes', () => {
  it('docs/errors.md documents every code with its status', () => {
    const expected = renderErrorDoc();
    if (process.env.UPDATE_DOCS) writeFileSync(DOC, expected);
    expect(readFileSync(DOC, 'utf8')).toBe(expected);
  });

  it('every status is an HTTP error status', () => {
    for (const { status } of Object.values(ERROR_CODES)) expect(status >= 400 && status < 600).toBe(true);
  });

  it('fieldIssues names each offending field by its dotted path', () => {
    const schema = z.strictObject({ a: z.string(), b: z.object({ c: z.number() }) });
    const result = schema.safeParse({ a: 1, b: { c: 'x' }, extra: true });
    expect(result.success).toBe(false);
    const issues = fieldIssues(result.error as z.ZodError, ['body']);
    expect(issues.map((i) => i.path).sort()).toEqual(['body', 'body.a', 'body.b.c']);
  });
});
