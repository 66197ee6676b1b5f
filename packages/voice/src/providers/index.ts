export * from './errors.js';
export * from './llm.js';
export * from './stt.js';
export * from './tts.js';
