// The TTS simulators' public surface; engine internals stay private to this folder.
export * from './cartesia-simulator.js';
export * from './elevenlabs-simulator.js';
export type {
  TtsLatencyMs,
  TtsSimFailure,
  TtsSimMessage,
  TtsSimUtterance,
  TtsSimulator,
  TtsSimulatorOptions,
} from './engine.js';
export * from './openai-simulator.js';
export { DEFAULT_MS_PER_CHARACTER as TTS_SIM_MS_PER_CHARACTER, simulatedSpeech } from './synth.js';
