export * from './call-session.js';
export * from './events.js';
export * from './in-memory-transport.js';
export * from './latency.js';
export * from './recorder.js';
export * from './transport.js';
export * from './audio-tap.js';
