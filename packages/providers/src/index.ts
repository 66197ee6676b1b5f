export * from './deepgram/stt.js';
export * from './cartesia/tts.js';
export * from './elevenlabs/tts.js';
export * from './openai/tts.js';
export * from './openai/chat.js';
export * from './registry.js';
export * from './catalog.js';
