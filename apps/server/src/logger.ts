import pino, { type Logger } from 'pino';

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
      // The query string may carry tokens (the setup link): log the path only.
      req: (req: { method: string; url: string; id: string }) => ({
        method: req.method,
        path: req.url.split('?')[0],
        id: req.id,
      }),
    },
  });
}
