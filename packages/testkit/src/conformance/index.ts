export * from './llm.js';
export * from './stt.js';
export * from './tts.js';
