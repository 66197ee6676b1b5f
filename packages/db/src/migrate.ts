import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Database } from './connection.js';
import { queryRows } from './query.js';

/** The committed migrations, next to src/ and dist/ alike. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations/', import.meta.url));

// One arbitrary constant shared by every Parley process, so concurrent migrators queue up.
const MIGRATION_LOCK_KEY = 7_263_115_001;

interface Migration {
  tag: string;
  hash: string;
  statements: string[];
}

export function loadMigrations(folder: string = MIGRATIONS_FOLDER): Migration[] {
  const journal = JSON.parse(readFileSync(`${folder}/meta/_journal.json`, 'utf8')) as {
    entries: { idx: number; tag: string }[];
  };
  return [...journal.entries]
    .sort((a, b) => a.idx - b.idx)
    .map(({ tag }) => {
      const text = readFileSync(`${folder}/${tag}.sql`, 'utf8');
      return {
        tag,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text
          .split('--> statement-breakpoint')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    });
}

export interface MigrationState {
  applied: string[];
  pending: string[];
}

export async function migrationState(db: Database, folder?: string): Promise<MigrationState> {
  const all = loadMigrations(folder).map((m) => m.tag);
  const applied = await appliedTags(db);
  return { applied: all.filter((t) => applied.has(t)), pending: all.filter((t) => !applied.has(t)) };
}

async function appliedTags(db: Pick<Database, 'execute'>): Promise<Set<string>> {
  const [exists] = await queryRows<{ present: boolean }>(
    db,
    sql`select to_regclass('public.parley_migrations') is not null as present`,
  );
  if (!exists?.present) return new Set();
  const rows = await queryRows<{ tag: string }>(db, sql`select tag from parley_migrations`);
  return new Set(rows.map((r) => r.tag));
}

/**
 * Applies pending migrations in one transaction under an advisory lock: a second process racing to
 * migrate waits, then finds nothing left to do. DDL is transactional in PostgreSQL, so a failure
 * leaves the schema as it was. Returns the tags it applied.
 */
export async function migrate(db: Database, folder?: string): Promise<string[]> {
  const migrations = loadMigrations(folder);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.execute(sql`create table if not exists parley_migrations (
      tag text primary key,
      hash text not null,
      applied_at timestamptz not null default now()
    )`);
    const applied = await appliedTags(tx);
    const done: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.tag)) continue;
      for (const statement of migration.statements) await tx.execute(sql.raw(statement));
      await tx.execute(
        sql`insert into parley_migrations (tag, hash) values (${migration.tag}, ${migration.hash})`,
      );
      done.push(migration.tag);
    }
    return done;
  });
}
