import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from './connection.js';
import { DirectoryLockedError } from './directory-lock.js';
import { MIGRATIONS_FOLDER, loadMigrations, migrate, migrationState } from './migrate.js';
import { queryRows } from './query.js';
import { sql } from 'drizzle-orm';
import { agents, agentVersions } from './schema.js';
import { uuidv7 } from './ids.js';
import { createTestDatabase, createThrowawayPostgres, testDatabaseKind } from './testing.js';

const handles: DatabaseHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

describe('migrations', () => {
  it('apply once, then report nothing pending and apply nothing', async () => {
    const handle = await createTestDatabase({ migrate: false });
    handles.push(handle);
    const all = loadMigrations().map((m) => m.tag);
    expect(await migrationState(handle.db)).toEqual({ applied: [], pending: all });
    expect(await migrate(handle.db)).toEqual(all);
    expect(await migrate(handle.db)).toEqual([]);
    expect(await migrationState(handle.db)).toEqual({ applied: all, pending: [] });
    const tables = await queryRows<{ name: string }>(
      handle.db,
      sql`select table_name as name from information_schema.tables where table_schema = 'public'`,
    );
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['agents', 'credentials', 'audit_log']));
  });

  it('0003 rewrites the agents’ `toolIds` into `tools` entries, in drafts and published versions', async () => {
    // The migrations up to 0002 alone, to store configs as they were written then.
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-migrations-'));
    try {
      cpSync(MIGRATIONS_FOLDER, dir, { recursive: true });
      const journalPath = path.join(dir, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
      const before = journal.entries.findIndex((e) => e.tag === '0003_tools');
      writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, before) }));
      const handle = await createTestDatabase({ migrate: false });
      handles.push(handle);
      await migrate(handle.db, dir);

      // Raw SQL: the schema's insert would name columns later migrations add.
      const [org] = await queryRows<{ id: string }>(
        handle.db,
        sql`insert into organizations (id, name) values (${uuidv7()}, 'Old') returning id`,
      );
      const toolA = '01900000-0000-7000-8000-00000000000a';
      const toolB = '01900000-0000-7000-8000-00000000000b';
      const [withTools] = await handle.db
        .insert(agents)
        .values({ organizationId: org!.id, name: 'a', draft: { prompt: 'p', toolIds: [toolA, toolB] } })
        .returning();
      const [without] = await handle.db
        .insert(agents)
        .values({ organizationId: org!.id, name: 'b', draft: { prompt: 'q', toolIds: [] } })
        .returning();
      await handle.db.insert(agentVersions).values({
        organizationId: org!.id,
        agentId: withTools!.id,
        version: 1,
        config: { prompt: 'p', toolIds: [toolB] },
      });

      expect((await migrate(handle.db))[0]).toBe('0003_tools');
      const drafts = await queryRows<{ id: string; draft: Record<string, unknown> }>(
        handle.db,
        sql`select id, draft from agents order by name`,
      );
      expect(drafts.map((d) => d.draft)).toEqual([
        { prompt: 'p', tools: [{ toolId: toolA }, { toolId: toolB }] },
        { prompt: 'q', tools: [] },
      ]);
      expect(drafts[1]?.id).toBe(without!.id);
      const [version] = await queryRows<{ config: Record<string, unknown> }>(
        handle.db,
        sql`select config from agent_versions`,
      );
      expect(version?.config).toEqual({ prompt: 'p', tools: [{ toolId: toolB }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(testDatabaseKind() === 'postgres')(
    'two processes racing to migrate apply each migration once',
    async () => {
      const { url, drop } = await createThrowawayPostgres();
      const a = await openDatabase({ url, maxConnections: 2 });
      const b = await openDatabase({ url, maxConnections: 2 });
      try {
        const [doneA, doneB] = await Promise.all([migrate(a.db), migrate(b.db)]);
        const all = loadMigrations().map((m) => m.tag);
        // Exactly one of them did the work; the other found it done.
        expect([...doneA, ...doneB].sort()).toEqual([...all].sort());
        const rows = await queryRows<{ tag: string }>(a.db, sql`select tag from parley_migrations`);
        expect(rows.map((r) => r.tag).sort()).toEqual([...all].sort());
      } finally {
        await a.close();
        await b.close();
        await drop();
      }
    },
  );

  it.runIf(testDatabaseKind() === 'pglite')(
    'an embedded database directory serves one process at a time',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'parley-db-'));
      const dataDir = path.join(dir, 'db');
      try {
        const first = await openDatabase({ dataDir });
        await migrate(first.db);
        // Simulate another live process holding the lock: our parent's pid is alive and not ours.
        const { writeFileSync } = await import('node:fs');
        await first.close();
        writeFileSync(`${dataDir}.lock`, String(process.ppid));
        await expect(openDatabase({ dataDir })).rejects.toBeInstanceOf(DirectoryLockedError);
        // A lock left behind by a dead process is taken over, and the data is still there.
        writeFileSync(`${dataDir}.lock`, '2147483646');
        const reopened = await openDatabase({ dataDir });
        expect((await migrationState(reopened.db)).pending).toEqual([]);
        await reopened.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
