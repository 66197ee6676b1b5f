// Starts the runtime under test as a child process and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RuntimeConfig, RuntimeReport } from './runtime.js';

export interface RuntimeProcess {
  mediaUrl: string;
  report(reset?: boolean): Promise<RuntimeReport>;
  stop(): Promise<void>;
}

export async function startRuntime(config: RuntimeConfig): Promise<RuntimeProcess> {
  const child: ChildProcess = fork(
    fileURLToPath(new URL('./runtime.js', import.meta.url)),
    [JSON.stringify(config)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // BENCH_PROFILE_DIR=dir writes a CPU profile of the runtime under test there; BENCH_RUNTIME_FLAGS
      // adds Node flags to it (e.g. GC settings being evaluated).
      execArgv: [
        ...(process.env['BENCH_RUNTIME_FLAGS']?.split(' ').filter(Boolean) ?? []),
        ...(process.env['BENCH_PROFILE_DIR']
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE_DIR']}`]
          : []),
      ],
    },
  );
  const mediaUrl = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`runtime exited with ${code}`)));
    child.on('message', (message: { type: string; url?: string; error?: string }) => {
      if (message.type === 'ready') resolve(message.url!);
      if (message.type === 'failed') reject(new Error(`runtime failed: ${message.error}`));
    });
  });
  // Reports answer in the order they were asked; one listener serves them all (a busy runtime may
  // have several outstanding).
  const waiting: ((report: RuntimeReport) => void)[] = [];
  child.on('message', (message: { type: string; report?: RuntimeReport }) => {
    if (message.type === 'report') waiting.shift()?.(message.report!);
  });
  return {
    mediaUrl,
    report(reset = false) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        child.send({ type: 'report', reset });
      });
    },
    stop() {
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      });
    },
  };
}
