export * from './energy.js';
export * from './silero.js';
