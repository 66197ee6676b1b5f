export * from './fixtures.js';
export * from './stt-simulator.js';
export * from './tts/index.js';
export * from './distributions.js';
export * from './llm-simulator.js';
export * from './fakes.js';
export * from './call-harness.js';
export * from './twilio-caller.js';
