import { describe, expect, it } from 'vitest';
import { TelephonyError } from '@parley/telephony';
import { ProviderError } from '@parley/voice';
import { describeError, serializeError } from './logger.js';

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

describe('describing an error for logs', () => {
  const CALLER = '+14155550123';

  it('keeps a carrier error’s kind, code and status but not the number in its response body or cause', () => {
    const cause = new Error(`Unable to create record: The 'To' number ${CALLER} is not a valid phone number`);
    const error = Object.assign(
      new TelephonyError('twilio', 'invalid_request', 'twilio transfer failed', { httpStatus: 400 }),
      { response: { body: { to: CALLER, message: `Call to ${CALLER} refused` } }, cause },
    );
    const described = describeError(error);
    expect(JSON.stringify(described)).not.toContain('5550123');
    expect(described).toMatchObject({
      name: 'TelephonyError',
      code: 'invalid_request',
      status: 400,
      message: 'twilio transfer failed',
      cause: { name: 'Error' },
    });
  });

  it('keeps a provider error’s category and status, masks a number in its message and clips it', () => {
    const body = `{"error":"context too long","prompt":"the caller said call me back on ${CALLER}${' and more'.repeat(80)}"}`;
    const error = new ProviderError(`openai bad request (400): ${body}`, {
      category: 'bad_request',
      retryable: false,
      provider: 'openai',
      status: 400,
      cause: { requestBody: { messages: [{ role: 'user', content: `my number is ${CALLER}` }] } },
    });
    const described = describeError(error);
    const text = JSON.stringify(described);
    expect(text).not.toContain('5550123');
    expect(text).not.toContain('my number is');
    expect(described).toMatchObject({ name: 'ProviderError', category: 'bad_request', status: 400 });
    expect(described.message).toMatch(/^openai bad request \(400\): /);
    expect(described.message).toContain('[number]');
    expect(described.message.length).toBeLessThanOrEqual(201);
  });

  it('drops the query parameters a database error writes into its message', () => {
    const error = new Error(`Failed query: update "calls" set "to_number" = $1\nparams: ${CALLER}`);
    expect(describeError(error).message).toBe(
      'Failed query: update "calls" set "to_number" = $1\nparams: [redacted]',
    );
  });
});
