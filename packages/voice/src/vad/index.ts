export * from './detector.js';
export * from './energy.js';
export * from './silero.js';
