export * from './twilio/media.js';
export * from './twilio/messages.js';
export * from './carrier.js';
