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

/** What a log keeps of an error, whatever threw it. */
export interface ErrorDescription {
  name: string;
  /** The error's own code (a carrier's, a driver's, a system call's), its category for providers. */
  code?: string | number;
  category?: string;
  status?: number;
  /** Clipped, with anything shaped like a phone number masked. */
  message: string;
  /** Where it was thrown: the stack's frames only (its first line repeats the message). */
  stack?: string;
  /** The kind of error underneath, without its message or fields. */
  cause?: Omit<ErrorDescription, 'message' | 'stack' | 'cause'>;
}

const MESSAGE_LIMIT = 200;
const STACK_FRAMES = 10;
// Seven or more digits, possibly spaced or dashed: E.164 and national numbers, not ports or statuses.
const PHONE_NUMBER = /\+?\d(?:[ ()-]?\d){6,}/g;

/**
 * A safe shape for logging an error from a provider, a carrier or our own code: its name, code or
 * category, status and a clipped message. Never its other fields or its cause's text: vendors' errors
 * carry request and response bodies, and with them phone numbers and transcript text.
 */
export function describeError(error: unknown): ErrorDescription {
  if (!(error instanceof Error)) {
    return { name: typeof error, message: typeof error === 'string' ? safeMessage(error) : '' };
  }
  const stack = error.stack
    ?.split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, STACK_FRAMES)
    .join('\n');
  return {
    ...kindOf(error),
    message: safeMessage(error.message),
    ...(stack ? { stack } : {}),
    ...(error.cause !== undefined ? { cause: kindOf(error.cause) } : {}),
  };
}

function kindOf(error: unknown): Omit<ErrorDescription, 'message' | 'stack' | 'cause'> {
  if (!error || typeof error !== 'object') return { name: typeof error };
  const fields = error as Record<string, unknown>;
  const details = fields['details'];
  const code = fields['code'];
  const category = fields['category'];
  const status =
    fields['status'] ??
    fields['statusCode'] ??
    (details && typeof details === 'object' ? (details as Record<string, unknown>)['httpStatus'] : undefined);
  return {
    name: error instanceof Error ? error.name : 'object',
    ...(typeof code === 'number' || isShortWord(code) ? { code } : {}),
    ...(isShortWord(category) ? { category } : {}),
    ...(typeof status === 'number' ? { status } : {}),
  };
}

/** Codes and categories are identifiers; anything longer or spaced is text, which is not kept. */
function isShortWord(value: unknown): value is string {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) && !/\d{7}/.test(value);
}

function safeMessage(message: string): string {
  const text = message.replace(PARAMS_IN_TEXT, '\nparams: [redacted]').replace(PHONE_NUMBER, '[number]');
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text;
}
