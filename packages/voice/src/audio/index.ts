export * from './format.js';
export * from './g711.js';
export * from './pcm16.js';
