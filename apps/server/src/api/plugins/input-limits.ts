import type { FastifyInstance } from 'fastify';
import { ServiceError } from '@parley/services';

/** Deeper than any configuration needs; deep enough nesting would otherwise exhaust a stack. */
export const MAX_JSON_DEPTH = 32;

interface Problem {
  path: string;
  message: string;
}

const NUL = 'must not contain NUL (U+0000) characters';

/** The first string or key holding a NUL, or the first point nested too deep, if any. */
export function findInputProblem(value: unknown, path: string[] = [], depth = 0): Problem | null {
  if (typeof value === 'string')
    return value.includes('\u0000') ? { path: path.join('.'), message: NUL } : null;
  if (!value || typeof value !== 'object') return null;
  if (depth >= MAX_JSON_DEPTH) {
    return { path: path.join('.'), message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` };
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [key, field] of entries) {
    if (key.includes('\u0000'))
      return { path: [...path, key.replace(/\u0000/g, '\\u0000')].join('.'), message: NUL };
    const found = findInputProblem(field, [...path, key], depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000, and very deep nesting exhausts stacks in the database
 * and in validation: either would surface as a 500. Both are refused up front, naming the field.
 */
export function registerInputLimits(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [
      ['body', request.body],
      ['querystring', request.query],
    ] as const) {
      const problem = findInputProblem(value, [where]);
      if (problem) {
        throw new ServiceError('invalid_request', `Invalid request: ${problem.path}: ${problem.message}`, [
          problem,
        ]);
      }
    }
  });
}
