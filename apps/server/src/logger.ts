import pino, { type Logger } from 'pino';

type Serialized = Record<string, unknown>;

const PARAMS_IN_TEXT = /\nparams: [\s\S]*?(?=\n\s+at |$)/;
// Fields in which database drivers copy row values (an email in a unique violation, query parameters).
const VALUE_FIELDS = ['params', 'parameters', 'detail', 'where'];

/**
 * Serializes an error without the personal data drivers put in it: drizzle writes the query's
 * parameters into the message, PostgreSQL the offending values into `detail`.
 */
export function serializeError(error: unknown): Serialized {
  const serialized = pino.stdSerializers.errWithCause(error as Error) as unknown as Serialized;
  return scrub(serialized);
}

function scrub(value: Serialized): Serialized {
  const out: Serialized = {};
  for (const [key, field] of Object.entries(value)) {
    if (VALUE_FIELDS.includes(key)) continue;
    if ((key === 'message' || key === 'stack') && typeof field === 'string') {
      out[key] = field.replace(PARAMS_IN_TEXT, '\nparams: [redacted]');
    } else if (field && typeof field === 'object' && !Array.isArray(field)) {
      out[key] = scrub(field as Serialized);
    } else {
      out[key] = field;
    }
  }
  return out;
}

/**
 * Structured JSON logs. Credentials in headers and known secret-bearing fields are redacted wherever
 * they appear; personal data (transcripts, phone numbers) goes only in structured fields, never in
 * message strings.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'parley' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
        '*.password',
        '*.token',
        '*.secret',
        '*.apiKey',
        '*.authToken',
        'password',
        'token',
        'secret',
      ],
      censor: '[redacted]',
    },
    serializers: {
      err: serializeError,
      // The query string may carry tokens (the setup link): log the path only.
      req: (req: { method: string; url: string; id: string }) => ({
        method: req.method,
        path: req.url.split('?')[0],
        id: req.id,
      }),
    },
  });
}
