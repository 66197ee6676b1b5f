// Test databases for `*.db.test.ts`: the vitest project sets PARLEY_TEST_DB to `pglite` or `postgres`,
// and each test file gets a freshly migrated database of that kind that is dropped when it closes.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, redactUrl, type DatabaseHandle } from './connection.js';
import { migrate } from './migrate.js';

export const TEST_POSTGRES_URL =
  process.env.PARLEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function testDatabaseKind(): 'pglite' | 'postgres' {
  const kind = process.env.PARLEY_TEST_DB ?? 'pglite';
  if (kind !== 'pglite' && kind !== 'postgres')
    throw new Error(`PARLEY_TEST_DB must be pglite or postgres, not ${kind}`);
  return kind;
}

/** Creates an empty database on the test PostgreSQL server and returns its URL and a dropper. */
export async function createThrowawayPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `parley_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `Cannot reach the test PostgreSQL at ${redactUrl(TEST_POSTGRES_URL)} (set PARLEY_TEST_POSTGRES_URL): ${String(error)}`,
    );
  }
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A migrated database of the kind under test; `close()` also drops a PostgreSQL one. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  if (testDatabaseKind() === 'postgres') {
    const { url, drop } = await createThrowawayPostgres();
    const opened = await openDatabase({ url, maxConnections: 4 });
    handle = {
      ...opened,
      close: async () => {
        await opened.close();
        await drop();
      },
    };
  } else {
    handle = await openDatabase({});
  }
  if (options.migrate !== false) await migrate(handle.db);
  return handle;
}
