export { summarizeCalls } from './summarize-calls.js';
