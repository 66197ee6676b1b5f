// Runs Silero batches on a worker thread (../../worker/silero-inference.worker.mjs), so that inference
// never holds up the event loop that paces every call's media. One batch is in flight at a time (the
// model's scheduler waits for each before starting the next), so replies come back in order.
//
// A worker that dies fails the batches it held and is started again for the next batch, at most once
// a second, so a crash costs each call a few windows of VAD rather than the call.
import { Worker } from 'node:worker_threads';
import type { SileroBatch, SileroBatchOutput, SileroInference } from './silero.js';

const WORKER_URL = new URL('../../worker/silero-inference.worker.mjs', import.meta.url);
const RESPAWN_INTERVAL_MS = 1000;

type WorkerReply =
  | { ready: true }
  | { id: number; probabilities: Float32Array; state: Float32Array }
  | { id: number; error: string };

interface PendingBatch {
  resolve: (output: SileroBatchOutput) => void;
  reject: (error: Error) => void;
}

export class WorkerSileroInference implements SileroInference {
  private worker: Worker | null = null;
  private ready: Promise<Worker> | null = null;
  private readonly pending = new Map<number, PendingBatch>();
  private nextId = 1;
  private lastStartAtMs = Number.NEGATIVE_INFINITY;
  private disposed = false;

  private constructor(private readonly modelPath: string) {}

  /** Starts the worker and waits until its session is loaded (so a bad model fails here). */
  static async start(modelPath: string): Promise<WorkerSileroInference> {
    const inference = new WorkerSileroInference(modelPath);
    await inference.spawn();
    return inference;
  }

  async run(batch: SileroBatch): Promise<SileroBatchOutput> {
    if (this.disposed) throw new Error('Silero VAD worker is disposed');
    const worker = await this.currentWorker();
    const id = this.nextId++;
    const done = new Promise<SileroBatchOutput>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    // A worker with nothing to do must not keep the process alive; one with a batch must.
    if (this.pending.size === 1) worker.ref();
    // The batch's arrays are built for this run only, so their buffers are handed over, not copied.
    worker.postMessage({ id, ...batch }, [
      batch.input.buffer as ArrayBuffer,
      batch.state.buffer as ArrayBuffer,
    ]);
    return done;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const worker = this.worker;
    this.worker = null;
    this.ready = null;
    this.failPending(new Error('Silero VAD worker is disposed'));
    await worker?.terminate();
  }

  private currentWorker(): Promise<Worker> {
    if (this.ready) return this.ready;
    const waitMs = this.lastStartAtMs + RESPAWN_INTERVAL_MS - performance.now();
    if (waitMs > 0) {
      return Promise.reject(new Error('Silero VAD worker stopped; restarting it shortly'));
    }
    return this.spawn();
  }

  private spawn(): Promise<Worker> {
    this.lastStartAtMs = performance.now();
    const worker = new Worker(WORKER_URL, { workerData: { modelPath: this.modelPath } });
    this.worker = worker;
    const ready = new Promise<Worker>((resolve, reject) => {
      worker.on('message', (reply: WorkerReply) => {
        if ('ready' in reply) {
          worker.unref();
          resolve(worker);
          return;
        }
        this.settle(worker, reply);
      });
      worker.once('error', (error) => {
        reject(error);
        this.stopped(worker, error);
      });
      worker.once('exit', (code) => {
        const error = new Error(`Silero VAD worker exited with code ${code}`);
        reject(error);
        this.stopped(worker, error);
      });
    });
    this.ready = ready;
    return ready;
  }

  private settle(worker: Worker, reply: Exclude<WorkerReply, { ready: true }>): void {
    const batch = this.pending.get(reply.id);
    if (!batch) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) worker.unref();
    if ('error' in reply) batch.reject(new Error(`Silero VAD inference failed: ${reply.error}`));
    else batch.resolve({ probabilities: reply.probabilities, state: reply.state });
  }

  private stopped(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.ready = null;
    this.failPending(error);
  }

  private failPending(error: Error): void {
    const batches = [...this.pending.values()];
    this.pending.clear();
    for (const batch of batches) batch.reject(error);
  }
}
