import type { SQL } from 'drizzle-orm';
import type { Executor } from './connection.js';

/**
 * Runs raw SQL and returns its rows. Both drivers (node-postgres and PGlite) answer with an object that
 * has `rows`; the shared base type only knows it as unknown.
 */
export async function queryRows<T>(db: Pick<Executor, 'execute'>, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
