import type { FastifyInstance } from 'fastify';
import { ServiceError } from '@parley/services';

/** The dotted path of the first string (or key) holding a NUL character, if any. */
export function findNulCharacter(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNulCharacter(value[i], [...path, String(i)]);
      if (found !== null) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, field] of Object.entries(value)) {
      if (key.includes('\u0000')) return [...path, key.replace(/\u0000/g, '\\u0000')].join('.');
      const found = findNulCharacter(field, [...path, key]);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000, so a NUL anywhere in a body or query string would
 * fail in the database as a 500. It is refused up front, naming the field.
 */
export function registerNulCharacterCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [
      ['body', request.body],
      ['querystring', request.query],
    ] as const) {
      const path = findNulCharacter(value, [where]);
      if (path !== null) {
        const message = 'must not contain NUL (U+0000) characters';
        throw new ServiceError('invalid_request', `Invalid request: ${path}: ${message}`, [
          { path, message },
        ]);
      }
    }
  });
}
