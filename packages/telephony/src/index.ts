export * from './twilio/media.js';
export * from './twilio/messages.js';
