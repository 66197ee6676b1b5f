export * from './dead-air-watchdog.js';
export * from './idle-monitor.js';
export * from './user-turn-processor.js';
export * from './words.js';
