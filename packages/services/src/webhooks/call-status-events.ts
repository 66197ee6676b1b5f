import type { calls, Executor } from '@parley/db';
import { isFinalCallStatus } from '../calls/call-status.js';
import { callEndedEvent, callStatusChangedEvent } from './call-events.js';
import type { WebhookEventInput } from './enqueue-webhook-event.js';

/**
 * The events a change of a call's status makes: `call.status_changed` when it changed, and the
 * end-of-call report (`call.ended`) when that change ended the call.
 */
export async function callStatusEvents(
  db: Executor,
  previousStatus: string,
  call: typeof calls.$inferSelect,
  now: Date,
): Promise<WebhookEventInput[]> {
  if (call.status === previousStatus) return [];
  const events = [callStatusChangedEvent(call, previousStatus, now)];
  if (isFinalCallStatus(call.status) && !isFinalCallStatus(previousStatus)) {
    const ended = await callEndedEvent(db, call.id, now);
    if (ended) events.push(ended);
  }
  return events;
}
