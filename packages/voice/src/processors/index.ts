export * from './llm-processor.js';
export * from './output-processor.js';
export * from './stt-processor.js';
export * from './tts-processor.js';
export * from './vad-processor.js';
