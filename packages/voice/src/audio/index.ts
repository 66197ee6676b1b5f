export * from './format.js';
export * from './g711.js';
export * from './pcm16.js';
export * from './convert.js';
export * from './pacer.js';
export * from './resample.js';
export * from './wav-writer.js';
export * from './audio-batcher.js';
