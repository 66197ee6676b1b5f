export * from './clause-chunker.js';
export * from './context.js';
export * from './fallback.js';
export * from './tool-runner.js';
