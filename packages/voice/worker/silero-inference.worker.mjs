// @ts-check
// The Silero VAD session, on a worker thread: onnxruntime-node runs a session synchronously on the
// thread that calls it, and a batch of a few hundred calls' windows takes milliseconds that every
// call's media would otherwise wait for. The main thread (src/vad/silero-worker-inference.ts) sends
// one batch at a time and gets the probabilities and next LSTM state back.
//
// Plain JavaScript so that the same file serves the built package and tests that run the TypeScript
// sources; the batching, state bookkeeping and error handling stay on the main thread.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

/** LSTM state is [2, batch, 128]. */
const STATE_HALF = 128;

const port = parentPort;
if (!port) throw new Error('silero-inference.worker.mjs runs only as a worker thread');

/** @type {typeof import('onnxruntime-node')} */
const ort = createRequire(import.meta.url)('onnxruntime-node');
// One thread: the process serves many calls, and intra-op threads would contend with the event loop.
const session = await ort.InferenceSession.create(workerData.modelPath, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
});
/** @type {Map<number, import('onnxruntime-node').Tensor>} */
const sampleRates = new Map();

port.on(
  'message',
  /** @param {{ id: number, sampleRateHz: number, batchSize: number, input: Float32Array, state: Float32Array }} job */
  async (job) => {
    try {
      let sr = sampleRates.get(job.sampleRateHz);
      if (!sr) {
        sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(job.sampleRateHz)), []);
        sampleRates.set(job.sampleRateHz, sr);
      }
      const outputs = await session.run({
        input: new ort.Tensor('float32', job.input, [job.batchSize, job.input.length / job.batchSize]),
        state: new ort.Tensor('float32', job.state, [2, job.batchSize, STATE_HALF]),
        sr,
      });
      if (!outputs['output'] || !outputs['stateN']) throw new Error('the model returned no output/stateN');
      // Copies of our own, so their buffers can be handed over without copying again.
      const probabilities = Float32Array.from(/** @type {Float32Array} */ (outputs['output'].data));
      const state = Float32Array.from(/** @type {Float32Array} */ (outputs['stateN'].data));
      port.postMessage({ id: job.id, probabilities, state }, [probabilities.buffer, state.buffer]);
    } catch (error) {
      port.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) });
    }
  },
);
port.postMessage({ ready: true });
