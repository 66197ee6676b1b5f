// Row (e)'s system under test: the built `parley serve` in its own process (role api) on a fresh
// PostgreSQL database of its own, with an organization, an API key and a few hundred agents seeded
// through the same REST API the load then uses. The database is dropped when the server stops.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PARLEY_CLI = fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url));

export interface ApiServerOptions {
  /** A PostgreSQL URL whose role may create and drop databases (the bench's goes next to it). */
  adminDatabaseUrl: string;
  /** PARLEY_API_RATE_LIMIT_PER_MINUTE for the run: raised so the limiter never answers 429. */
  rateLimitPerMinute: number;
  logLevel: string;
  seedAgents: number;
}

export interface ApiServer {
  baseUrl: string;
  apiKey: string;
  organizationId: string;
  agentIds: string[];
  databaseName: string;
  role: 'api';
  /** Where the server's own log went (kept only when the server failed). */
  logFile: string;
  /** Audit rows per action (agent.create, agent.update) in the bench's database. */
  auditCounts(): Promise<Record<string, number>>;
  /** CPU time of the server process so far (Linux /proc; null elsewhere). */
  cpuMs(): number | null;
  stop(): Promise<void>;
}

const EMAIL = 'bench@example.com';

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const databaseName = `parley_bench_e_${process.pid}`;
  const databaseUrl = withDatabase(options.adminDatabaseUrl, databaseName);
  // A database left by an interrupted run of the same pid goes first.
  await psql(options.adminDatabaseUrl, `DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  await psql(options.adminDatabaseUrl, `CREATE DATABASE "${databaseName}"`);
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-bench-e-'));
  const logFile = path.join(dir, 'server.log');
  const password = randomBytes(18).toString('base64url');
  const env = cleanEnv({
    DATABASE_URL: databaseUrl,
    PARLEY_SECRET_KEY: randomBytes(48).toString('base64'),
    PARLEY_DATA_DIR: path.join(dir, 'data'),
    PARLEY_API_RATE_LIMIT_PER_MINUTE: String(options.rateLimitPerMinute),
    LOG_LEVEL: options.logLevel,
  });
  let child: ChildProcess | null = null;
  let logFd: number | null = null;
  const cleanUp = async (keepLog: boolean) => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child?.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    }
    if (logFd !== null) closeSync(logFd);
    logFd = null;
    await psql(options.adminDatabaseUrl, `DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    if (!keepLog) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The CLI migrates the new database and creates the owner (an instance administrator, to raise
    // the per-organization agent limit that the run's creates would otherwise reach).
    const created = await run(
      process.execPath,
      [PARLEY_CLI, 'user', 'create', '--email', EMAIL, '--organization', 'Bench', '--instance-admin'],
      { cwd: dir, env: { ...env, PARLEY_USER_PASSWORD: password } },
    );
    const organizationId = /owning organization ([0-9a-f-]{36})/.exec(created.stdout)?.[1];
    if (!organizationId) throw new Error(`parley user create said: ${created.stdout} ${created.stderr}`);

    const port = await freePort();
    logFd = openSync(logFile, 'w');
    // The server's request log goes to a file, as in production (LOG_LEVEL info logs every request).
    child = spawn(
      process.execPath,
      [
        // BENCH_API_PROFILE_DIR=dir writes a CPU profile of the server there; BENCH_API_FLAGS adds Node flags.
        ...(process.env['BENCH_API_FLAGS']?.split(' ').filter(Boolean) ?? []),
        ...(process.env['BENCH_API_PROFILE_DIR']
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_API_PROFILE_DIR']}`]
          : []),
        PARLEY_CLI,
        'serve',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--role',
        'api',
      ],
      { cwd: dir, env, stdio: ['ignore', logFd, logFd] },
    );
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitUntilReady(baseUrl, child, logFile);

    const session = await login(baseUrl, password);
    await json(baseUrl, 'PATCH', '/api/v1/admin/settings', session, { maxAgentsPerOrganization: 100_000 });
    const key = (await json(baseUrl, 'POST', '/api/v1/api-keys', session, {
      name: 'bench',
      scopes: ['agents:read', 'agents:write'],
    })) as { secret: string };
    const bearer = { authorization: `Bearer ${key.secret}` };
    const agentIds = await seedAgents(baseUrl, bearer, options.seedAgents);
    const pid = child.pid!;
    return {
      baseUrl,
      apiKey: key.secret,
      organizationId,
      agentIds,
      databaseName,
      role: 'api',
      logFile,
      cpuMs: () => processCpuMs(pid),
      auditCounts: async () => {
        const { stdout } = await run('psql', [
          databaseUrl,
          '-AtXc',
          `SELECT action, count(*) FROM audit_log WHERE action LIKE 'agent.%' GROUP BY action`,
        ]);
        return Object.fromEntries(
          stdout
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((line) => {
              const [action, n] = line.split('|');
              return [action!, Number(n)];
            }),
        );
      },
      stop: () => cleanUp(false),
    };
  } catch (error) {
    await cleanUp(true).catch(() => {});
    const tail = safeTail(logFile);
    throw new Error(`${String(error)}${tail ? `\nserver log (${logFile}):\n${tail}` : ''}`);
  }
}

async function seedAgents(
  baseUrl: string,
  headers: Record<string, string>,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  // A few at a time: creations serialise on the organization row anyway.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < count) {
        const index = next++;
        const agent = (await json(baseUrl, 'POST', '/api/v1/agents', headers, {
          name: `Seeded ${index}`,
        })) as { id: string };
        ids.push(agent.id);
      }
    }),
  );
  return ids;
}

async function login(baseUrl: string, password: string): Promise<Record<string, string>> {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password }),
  });
  if (!response.ok) throw new Error(`login: ${response.status} ${await response.text()}`);
  const me = (await response.json()) as { csrfToken: string | null };
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
  return { cookie, 'x-csrf-token': me.csrfToken ?? '' };
}

async function json(
  baseUrl: string,
  method: string,
  pathname: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${baseUrl}${pathname}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${pathname}: ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

async function waitUntilReady(baseUrl: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`parley serve exited with ${child.exitCode}`);
    const ready = await fetch(`${baseUrl}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    // Polling a process we do not control: nothing to wait on but its answer.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`parley serve was not ready within 60 s (log: ${logFile})`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function psql(url: string, sql: string): Promise<void> {
  await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qXc', sql]);
}

/** Nothing of the developer's PARLEY_*, DATABASE_URL or REDIS_URL leaks into the server. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PARLEY_') && key !== 'DATABASE_URL' && key !== 'REDIS_URL' && key !== 'LOG_LEVEL')
      env[key] = value;
  }
  return { ...env, ...extra };
}

/** utime + stime of a process, children excluded, in ms (Linux). */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

function safeTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
