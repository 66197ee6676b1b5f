export * from './twilio/media.js';
export * from './twilio/messages.js';
export * from './carrier.js';
export * from './twilio/webhook.js';
export * from './twilio/call-control.js';
