// Test-only: runs the built `parley` CLI as a child process, the way README command 1 does.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
}

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-e2e-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A clean environment: nothing of the developer's PARLEY_* or DATABASE_URL leaks into the child. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PARLEY_') && k !== 'DATABASE_URL' && k !== 'REDIS_URL' && k !== 'LOG_LEVEL')
      env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RunningServer {
  child: ChildProcessWithoutNullStreams;
  /** The folder it runs in (its data directory): a restarted process can take it over. */
  cwd: string;
  baseUrl: string;
  /** The media address it tells carriers (PARLEY_RUNTIME_URL), if started with `ownMediaUrl`. */
  mediaUrl: string | null;
  setupLink: string | null;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves once the server prints a line matching `pattern` (and `accept`), counting what it printed before. */
  waitForOutput(pattern: RegExp, accept?: (line: string) => boolean): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartServerOptions {
  timeoutMs?: number;
  /**
   * Listen on a free port and tell carriers that address as this process's own media address
   * (PARLEY_RUNTIME_URL), as each of several runtimes behind one public URL does. The process must
   * know its address before it listens, hence a port chosen here rather than `--port 0`.
   */
  ownMediaUrl?: boolean;
}

/** A free local port, released for the caller to listen on. */
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

/**
 * Starts `parley serve` (on port 0 unless `ownMediaUrl`) and resolves once it logs its URL (and setup
 * link, if any). A number for `options` is the timeout.
 */
export async function startServer(
  cwd: string,
  env: Record<string, string> = {},
  options: StartServerOptions | number = {},
): Promise<RunningServer> {
  const { timeoutMs = 30_000, ownMediaUrl = false } =
    typeof options === 'number' ? { timeoutMs: options } : options;
  const port = ownMediaUrl ? await freePort() : 0;
  const mediaUrl = ownMediaUrl ? `ws://127.0.0.1:${port}` : null;
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
    cwd,
    env: cleanEnv(mediaUrl ? { ...env, PARLEY_RUNTIME_URL: mediaUrl } : env),
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), timeoutMs);
    // serve prints the setup link (if any) before the line that says it is listening.
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /Parley is listening on (http:\/\/[^\s]+) /.exec(output);
      if (!listening) return;
      clearTimeout(timer);
      resolve({
        child,
        cwd,
        baseUrl: listening[1] as string,
        mediaUrl,
        setupLink: /(http:\/\/\S+\/setup\?token=\S+)/.exec(output)?.[1] ?? null,
        output: () => output,
        exited,
        waitForOutput: (pattern, accept = () => true) =>
          new Promise<void>((done) => {
            const seen = () => output.split('\n').some((line) => pattern.test(line) && accept(line));
            if (seen()) return done();
            const check = () => {
              if (!seen()) return;
              child.stdout.off('data', check);
              done();
            };
            child.stdout.on('data', check);
          }),
        stop: (signal = 'SIGTERM') => {
          child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    });
  });
}
