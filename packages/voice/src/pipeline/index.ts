export * from './frames.js';
export * from './pipeline.js';
export * from './processor.js';
export * from './turns.js';
