import { describe, expect, it } from 'vitest';
import { serializeError } from './logger.js';

describe('error serialization for logs', () => {
  it('drops the query parameters and row values database errors carry', () => {
    const cause = Object.assign(
      new Error('duplicate key value violates unique constraint "users_email_unique"'),
      {
        code: '23505',
        detail: 'Key (email)=(jane@example.test) already exists.',
      },
    );
    const error = Object.assign(
      new Error('Failed query: insert into "users" ("email") values ($1)\nparams: jane@example.test,Jane'),
      {
        params: ['jane@example.test', 'Jane'],
        cause,
      },
    );
    const text = JSON.stringify(serializeError(error));
    expect(text).not.toContain('jane@example.test');
    expect(text).toContain('Failed query: insert into \\"users\\"');
    expect(text).toContain('23505');
    expect(text).toContain('users_email_unique');
  });
});
